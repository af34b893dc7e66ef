/**
 * A zstd decoder that decompresses every chunk into one reused buffer.
 * `zstdDecompressSync` allocates a fresh output buffer per call: for a stream
 * of 64 KiB chunks that is a page fault per 4 KiB, zeroing, and garbage that
 * piles up until the GC runs (it made extract's memory grow with the blob).
 * Deno's node:zlib stream handle can write into a caller's buffer instead, which
 * is also about 40 % faster here. Only used inside codec workers.
 */
import zlib from "node:zlib";

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

export class ZstdDecoder {
  readonly #handle: ZlibHandle;
  /** [output bytes left, input bytes left] after each writeSync. */
  readonly #state: Uint32Array;
  readonly #flush: number;
  #output = new Uint8Array(1 << 18);

  constructor() {
    // deno-lint-ignore no-explicit-any
    const stream = zlib.createZstdDecompress() as any;
    this.#handle = stream._handle;
    this.#state = stream._writeState;
    this.#flush = stream._finishFlushFlag;
    if (
      typeof this.#handle?.writeSync !== "function" || !(this.#state instanceof Uint32Array) ||
      typeof this.#flush !== "number"
    ) {
      throw new Error("node:zlib has no zstd stream handle");
    }
  }

  /** Whether this runtime offers the handle API (else use zstdDecompressSync). */
  static available(): boolean {
    try {
      new ZstdDecoder();
      return true;
    } catch {
      return false;
    }
  }

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
      const written = this.#decodeInto(frame, output);
      if (written !== undefined) return output.subarray(0, written);
      // The buffer filled up: there may be more. Decode again into a larger one.
      if (capacity >= limit) throw new Error(`decompresses to more than ${limit - 1} bytes`);
      capacity = Math.min(limit, capacity * 2);
    }
  }

  /**
   * Feeds the whole frame; returns the bytes written, or undefined when the
   * output filled up (there may be more). One writeSync may stop early (at a
   * block boundary), so it is called until the input is used up.
   */
  #decodeInto(frame: Uint8Array, output: Uint8Array): number | undefined {
    this.#handle.reset();
    let read = 0;
    let written = 0;
    try {
      for (;;) {
        const inLength = frame.length - read;
        const outLength = output.length - written;
        this.#handle.writeSync(this.#flush, frame, read, inLength, output, written, outLength);
        const [outputLeft, inputLeft] = this.#state;
        read += inLength - inputLeft;
        written += outLength - outputLeft;
        if (outputLeft === 0) return undefined;
        if (inputLeft === 0) return written;
        if (inLength === inputLeft && outLength === outputLeft) {
          throw new Error("the frame holds trailing data");
        }
      }
    } catch (error) {
      this.#handle.reset();
      throw error;
    }
  }
}
