/**
 * zstd through node:zlib's stream handle, with output buffers of our own.
 * `zstdDecompressSync` and `zstdCompressSync` allocate fresh output buffers per
 * call: for a stream of 64 KiB chunks that is a page fault per 4 KiB, zeroing,
 * and garbage that piles up until the GC runs (it made extract's and make's
 * memory grow). The handle (what Node's own sync functions use) writes into a
 * caller's buffer instead; decoding that way is also about 40 % faster here.
 * Only used inside codec workers.
 */
import { zlib } from "../util/node_builtins.ts";

/** The handle API of node:zlib streams (the one Node's own sync functions use). */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  reset(): void;
}

/** The largest plain chunk accepted when the caller cannot say how large it is (casync's max). */
const MAX_PLAIN = 128 << 20;

/** A node:zlib stream's handle, its write state and its end-of-input flush flag. */
interface Handle {
  handle: ZlibHandle;
  /** [output bytes left, input bytes left] after each writeSync. */
  state: Uint32Array;
  flush: number;
}

function handleOf(stream: unknown): Handle {
  // deno-lint-ignore no-explicit-any
  const { _handle: handle, _writeState: state, _finishFlushFlag: flush } = stream as any;
  if (
    typeof handle?.writeSync !== "function" || !(state instanceof Uint32Array) ||
    typeof flush !== "number"
  ) {
    throw new Error("node:zlib has no zstd stream handle");
  }
  return { handle, state, flush };
}

/**
 * Feeds all of `input` to a stream handle (one writeSync may stop early, at a
 * block boundary); returns the bytes written to `output`, or undefined when
 * `output` filled up (there may be more).
 */
function pump(stream: Handle, input: Uint8Array, output: Uint8Array): number | undefined {
  const { handle, state, flush } = stream;
  handle.reset();
  let read = 0;
  let written = 0;
  try {
    for (;;) {
      const inLength = input.length - read;
      const outLength = output.length - written;
      handle.writeSync(flush, input, read, inLength, output, written, outLength);
      const [outputLeft, inputLeft] = state;
      read += inLength - inputLeft;
      written += outLength - outputLeft;
      if (outputLeft === 0) return undefined;
      if (inputLeft === 0) return written;
      if (inLength === inputLeft && outLength === outputLeft) {
        throw new Error("the frame holds trailing data");
      }
    }
  } catch (error) {
    handle.reset();
    throw error;
  }
}

/** Whether this runtime offers the handle API (else use the sync functions). */
export function zstdStreamsAvailable(): boolean {
  try {
    handleOf(zlib().createZstdDecompress());
    return true;
  } catch {
    return false;
  }
}

export class ZstdDecoder {
  readonly #stream = handleOf(zlib().createZstdDecompress());
  #output = new Uint8Array(1 << 18);

  /**
   * Decompresses one or more concatenated frames. The result is a view into a
   * buffer the next call overwrites. `expected`, when known, sizes the buffer
   * so that one pass suffices, and decoding stops one byte past it (a chunk
   * larger than its index says is an error, not an allocation).
   */
  decode(frame: Uint8Array, expected?: number): Uint8Array {
    // One byte more than expected, so that a chunk larger than promised shows.
    const limit = expected === undefined ? MAX_PLAIN : expected + 1;
    let capacity = Math.max(Math.min(this.#output.length, limit), (expected ?? 0) + 1);
    for (;;) {
      if (this.#output.length < capacity) this.#output = new Uint8Array(capacity);
      const output = this.#output.subarray(0, capacity);
      const written = pump(this.#stream, frame, output);
      if (written !== undefined) return output.subarray(0, written);
      // The buffer filled up: there may be more. Decode again into a larger one.
      if (capacity >= limit) throw new Error(`decompresses to more than ${limit - 1} bytes`);
      capacity = Math.min(limit, capacity * 2);
    }
  }
}

/**
 * A zstd encoder at a fixed level. Its frames are byte-identical to
 * `zstdCompressSync`'s (the same streaming call, ended in one go), which are
 * casync's chunk files.
 */
export class ZstdEncoder {
  readonly #stream: Handle;
  #output = new Uint8Array(1 << 18);

  constructor(level: number) {
    const params = { [zlib().constants.ZSTD_c_compressionLevel]: level };
    this.#stream = handleOf(zlib().createZstdCompress({ params }));
  }

  /** One frame holding `plain`, in a buffer of its own. */
  encode(plain: Uint8Array): Uint8Array {
    return this.encodeTransient(plain).slice();
  }

  /**
   * One frame holding `plain`, as a view into the encoder's buffer: valid until
   * the next call. For frames written out at once, so no garbage piles up.
   */
  encodeTransient(plain: Uint8Array): Uint8Array {
    // zstd's worst case for incompressible input, plus room for the headers.
    const bound = plain.length + (plain.length >> 7) + 1024;
    if (this.#output.length < bound) this.#output = new Uint8Array(bound);
    const written = pump(this.#stream, plain, this.#output);
    if (written === undefined) throw new Error("zstd frame larger than its bound");
    return this.#output.subarray(0, written);
  }
}
