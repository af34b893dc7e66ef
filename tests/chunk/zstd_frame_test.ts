import zlib from "node:zlib";
import { assert, assertBytesEqual, assertEquals } from "../assert.ts";
import { hasUncheckedParts, isZstdFrame, storedFrameContent } from "../../src/chunk/zstd_frame.ts";
import { pseudoRandom } from "../helpers.ts";

const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function blockHeader(last: number, type: number, size: number): number[] {
  const value = last | (type << 1) | (size << 3);
  return [value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff];
}

Deno.test("an incompressible chunk's frame is read without the decoder, as zstd reads it", () => {
  const data = pseudoRandom(65536, 4);
  const frame = new Uint8Array(zlib.zstdCompressSync(data));
  const content = storedFrameContent(frame)?.content;
  assert(content, "random data should be stored in raw blocks");
  assertBytesEqual(content, data);
});

Deno.test("frames with compressed blocks are left to the real decoder", () => {
  const frame = new Uint8Array(zlib.zstdCompressSync(new TextEncoder().encode("ab".repeat(5000))));
  assertEquals(storedFrameContent(frame), undefined);
  assertEquals(storedFrameContent(new Uint8Array([1, 2, 3, 4, 5, 6, 7])), undefined);
});

Deno.test("hand-made raw + RLE frames with a checksum decode like zstd decodes them", () => {
  // descriptor 0x24: single segment, content checksum; one byte of content size.
  const payload = [1, 2, 3, 4, 5];
  const frame = new Uint8Array([
    ...MAGIC,
    0x24,
    15,
    ...blockHeader(0, 0, 5),
    ...payload,
    ...blockHeader(1, 1, 10),
    0x7f,
    0,
    0,
    0,
    0,
  ]);
  const content = storedFrameContent(frame)?.content;
  assertEquals(Array.from(content!), [...payload, ...new Array(10).fill(0x7f)]);
  // A stock decoder agrees except that it checks the (deliberately zeroed) checksum.
  const noChecksum = new Uint8Array([...MAGIC, 0x20, 15, ...frame.subarray(6, frame.length - 4)]);
  assertEquals(
    Array.from(new Uint8Array(zlib.zstdDecompressSync(noChecksum))),
    Array.from(content!),
  );
  assertEquals(storedFrameContent(frame.subarray(0, frame.length - 1)), undefined);
});

Deno.test("a chunk stored in several raw blocks is joined as zstd joins it, and bounded", () => {
  // 300 000 incompressible bytes need three raw blocks (a block holds at most 128 KiB).
  const data = pseudoRandom(300_000, 9);
  const frame = new Uint8Array(zlib.zstdCompressSync(data));
  const expected = new Uint8Array(zlib.zstdDecompressSync(frame));
  const content = storedFrameContent(frame, data.length + 1)?.content;
  assert(content, "random data should be stored in raw blocks");
  assertBytesEqual(content, expected);
  // Past the limit only the size is told: nothing that large is made.
  assertEquals(storedFrameContent(frame, data.length - 1), { size: data.length });
  // The joined content lives in a reused buffer: the next call may overwrite it.
  const other = pseudoRandom(300_000, 10);
  const second = storedFrameContent(new Uint8Array(zlib.zstdCompressSync(other)));
  assertBytesEqual(second!.content!, other);
});

Deno.test("RLE blocks that claim more than the limit are measured, never made", () => {
  // 1000 RLE blocks of 1 MiB each: 4 KiB of frame that would make about 1 GiB.
  const blocks: number[] = [];
  for (let i = 0; i < 1000; i++) blocks.push(...blockHeader(i === 999 ? 1 : 0, 1, 1 << 20), 0x41);
  const frame = new Uint8Array([...MAGIC, 0x00, 0x58, ...blocks]);
  assertEquals(storedFrameContent(frame, 256 << 10), { size: 1000 << 20 });
});

Deno.test("isZstdFrame: zstd's magic number at the view's start, nothing shorter", () => {
  const frame = new Uint8Array(zlib.zstdCompressSync(new Uint8Array(100)));
  assertEquals(isZstdFrame(frame), true);
  const shifted = new Uint8Array(frame.length + 3);
  shifted.set(frame, 3);
  assertEquals(isZstdFrame(shifted.subarray(3)), true);
  assertEquals(isZstdFrame(shifted), false);
  assertEquals(isZstdFrame(frame.subarray(0, 3)), false);
  assertEquals(isZstdFrame(new Uint8Array(zlib.gzipSync(new Uint8Array(100)))), false);
});

Deno.test("hasUncheckedParts: what the fast path skips and zstd checks, and nothing in casync's frames", () => {
  // casync's (and our) frames of incompressible data: no checksum, size or dictionary.
  for (const size of [1000, 65536, 300_000]) {
    const frame = new Uint8Array(zlib.zstdCompressSync(pseudoRandom(size, 2)));
    assertEquals(hasUncheckedParts(frame), false);
  }
  // Frames with compressed blocks are the decoder's anyway.
  const text = new TextEncoder().encode("ab".repeat(5000));
  assertEquals(hasUncheckedParts(new Uint8Array(zlib.zstdCompressSync(text))), false);
  const raw5 = [...blockHeader(1, 0, 5), 1, 2, 3, 4, 5];
  const big = [...blockHeader(1, 0, 2000), ...pseudoRandom(2000, 3)];
  const zstdTakes = (frame: Uint8Array) => {
    try {
      zlib.zstdDecompressSync(frame);
      return true;
    } catch {
      return false;
    }
  };
  const cases: [string, number[], boolean][] = [
    // Single segment, a 1-byte content size of 5: what the blocks hold.
    ["a sound declared size", [...MAGIC, 0x20, 5, ...raw5], false],
    ["a declared size the blocks do not hold", [...MAGIC, 0x20, 6, ...raw5], true],
    ["a checksum (zeroed: wrong)", [...MAGIC, 0x24, 5, ...raw5, 0, 0, 0, 0], true],
    ["a dictionary", [...MAGIC, 0x01, 0x58, 7, ...raw5], true],
    // Window descriptor 0 is 1 KiB, 0x08 is 2 KiB.
    ["a block larger than the window", [...MAGIC, 0x00, 0x00, ...big], true],
    ["a block within the window", [...MAGIC, 0x00, 0x08, ...big], false],
  ];
  for (const [what, bytes, unchecked] of cases) {
    const frame = new Uint8Array(bytes);
    assert(storedFrameContent(frame)?.content, `${what}: the fast path reads it`);
    assertEquals(hasUncheckedParts(frame), unchecked, what);
    // Each one flagged is one zstd refuses; each one passed, one it takes.
    assertEquals(zstdTakes(frame), !unchecked, `${what}: zstd's verdict`);
  }
  // Not read by the fast path at all: not its business.
  assertEquals(hasUncheckedParts(new Uint8Array([1, 2, 3, 4, 5, 6, 7])), false);
});
