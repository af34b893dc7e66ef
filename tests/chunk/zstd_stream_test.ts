/** The reused-buffer zstd decoder and encoder against the stock ones. */
import zlib from "node:zlib";
import { assertBytesEqual, assertEquals, assertThrows } from "../assert.ts";
import { ZstdDecoder, ZstdEncoder } from "../../src/chunk/zstd_stream.ts";
import { pseudoRandom } from "../helpers.ts";

/** Compressible data: pseudo-random words from a small alphabet. */
function text(size: number, seed: number): Uint8Array {
  const random = pseudoRandom(size, seed);
  return random.map((byte) => 97 + (byte % 8));
}

const frame = (data: Uint8Array) => new Uint8Array(zlib.zstdCompressSync(data));

Deno.test("ZstdDecoder decodes stock frames of every size, reusing its buffer", () => {
  const decoder = new ZstdDecoder();
  for (const size of [0, 1, 1000, 65536, 300_000, 3 << 20]) {
    const data = text(size, size + 1);
    assertBytesEqual(decoder.decode(frame(data), size), data);
    // Without a size hint the buffer grows as needed.
    assertBytesEqual(decoder.decode(frame(data)), data);
  }
  const a = text(5000, 1);
  const b = text(7000, 2);
  const first = decoder.decode(frame(a));
  assertBytesEqual(first, a);
  decoder.decode(frame(b));
  // The result is a view into the reused buffer: the next call overwrote it.
  assertEquals(first.buffer, decoder.decode(frame(b)).buffer);
});

Deno.test("ZstdDecoder reads concatenated frames as one chunk", () => {
  const a = text(5000, 3);
  const b = text(6000, 4);
  const joined = new Uint8Array([...frame(a), ...frame(b)]);
  assertBytesEqual(new ZstdDecoder().decode(joined), new Uint8Array([...a, ...b]));
});

Deno.test("ZstdDecoder: corrupt, oversized and trailing data fail; the next frame still decodes", () => {
  const decoder = new ZstdDecoder();
  const data = text(100_000, 5);
  const good = frame(data);
  const corrupt = good.slice();
  for (let i = 20; i < corrupt.length; i += 97) corrupt[i] ^= 0x5a;
  assertThrows(() => decoder.decode(corrupt, data.length), Error);
  assertBytesEqual(decoder.decode(good, data.length), data);
  // More than promised: never more than one byte past the promise is decoded.
  assertThrows(() => decoder.decode(good, 1000), Error, "more than 1000 bytes");
  assertThrows(() => decoder.decode(new Uint8Array([...good, 1, 2, 3, 4, 5, 6, 7, 8])), Error);
  // A truncated frame yields less than the chunk (its hash check then fails).
  const short = decoder.decode(good.subarray(0, good.length - 50), data.length);
  assertEquals(short.length < data.length, true);
  assertBytesEqual(decoder.decode(good, data.length), data);
});

Deno.test("ZstdEncoder writes the stock encoder's frames, byte for byte", () => {
  const encoder = new ZstdEncoder(3);
  const params = { [zlib.constants.ZSTD_c_compressionLevel]: 3 };
  for (const size of [0, 1, 5000, 65536, 262_144, 1 << 20]) {
    for (const data of [text(size, size), pseudoRandom(size, size)]) {
      const ours = encoder.encode(data);
      const bound = size + (size >> 7) + 1024;
      const stock = new Uint8Array(zlib.zstdCompressSync(data, { chunkSize: bound, params }));
      assertBytesEqual(ours, stock);
      assertBytesEqual(new Uint8Array(zlib.zstdDecompressSync(ours)), data);
      // The transient frame is the same bytes, in the encoder's own buffer.
      const transient = encoder.encodeTransient(data);
      assertBytesEqual(transient, stock);
      if (encoder.encodeTransient(data).buffer !== transient.buffer) {
        throw new Error("encodeTransient allocated a new buffer");
      }
    }
  }
});
