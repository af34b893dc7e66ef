import zlib from "node:zlib";
import { assertBytesEqual, assertEquals, assertThrows } from "../assert.ts";
import {
  ChunkDataError,
  ChunkUndecodable,
  compressChunk,
  decodeChunk,
  decompressChunk,
  frameToStore,
} from "../../src/chunk/codec.ts";
import { hashChunk } from "../../src/chunk/digest.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { missingTools, pseudoRandom } from "../helpers.ts";

const ABC = new TextEncoder().encode("abc");

Deno.test("hashChunk matches the FIPS 180-4 test vectors for 'abc'", () => {
  assertEquals(
    hashChunk(ABC, "sha512-256"),
    "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23",
  );
  assertEquals(
    hashChunk(ABC, "sha256"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("compressChunk writes zstd frames a stock zstd decoder reads", () => {
  for (const data of [pseudoRandom(70000, 3), new Uint8Array(65536), ABC]) {
    const frame = compressChunk(data);
    assertEquals(Array.from(frame.subarray(0, 4)), [0x28, 0xb5, 0x2f, 0xfd]);
    assertBytesEqual(new Uint8Array(zlib.zstdDecompressSync(frame)), data);
    assertBytesEqual(decompressChunk(frame), data);
  }
});

Deno.test("decodeChunk verifies the digest and names what is wrong", () => {
  const data = pseudoRandom(5000, 9);
  const id = hashChunk(data, "sha512-256");
  assertBytesEqual(decodeChunk(compressChunk(data), id, "sha512-256"), data);
  assertBytesEqual(decodeChunk(data, id, "sha512-256", false), data);
  const wrong = "00".repeat(32) as ChunkId;
  assertThrows(() => decodeChunk(compressChunk(data), wrong, "sha512-256"), ChunkDataError, id);
  assertThrows(() => decodeChunk(compressChunk(data), id, "sha256"), ChunkDataError, "hashes to");
  assertThrows(() => decodeChunk(data, id, "sha512-256"), ChunkDataError, "cannot decompress");
});

Deno.test({
  name: "frameToStore: a raw-block frame is kept only when zstd accepts its content checksum",
  ignore: Boolean(missingTools("zstd")),
  fn: frameToStoreChecksum,
});

async function frameToStoreChecksum() {
  const plain = pseudoRandom(65536, 12);
  // The zstd CLI's frame with a checksum (raw blocks: the data is incompressible).
  const child = new Deno.Command("zstd", {
    args: ["-q", "-c", "--check", "-3"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(plain);
  await writer.close();
  const framed = new Uint8Array((await child.output()).stdout);
  assertBytesEqual(frameToStore({ data: framed, compressed: true })!, framed);
  const bad = framed.slice();
  bad[bad.length - 1] ^= 0xff;
  // The fast path reads the content regardless (the digest covers it)...
  assertBytesEqual(decompressChunk(bad), plain);
  // ...but the frame would be a file zstd refuses, so it is not stored.
  assertThrows(() => frameToStore({ data: bad, compressed: true }), ChunkUndecodable);
  // Frames without a checksum, and other encodings, as before.
  const casyncFrame = new Uint8Array(zlib.zstdCompressSync(plain));
  assertBytesEqual(frameToStore({ data: casyncFrame, compressed: true })!, casyncFrame);
  assertEquals(frameToStore({ data: plain, compressed: false }), undefined);
  assertEquals(
    frameToStore({ data: new Uint8Array(zlib.gzipSync(plain)), compressed: true }),
    undefined,
  );
}
