import zlib from "node:zlib";
import { assertBytesEqual, assertEquals, assertThrows } from "../assert.ts";
import {
  ChunkDataError,
  compressChunk,
  decodeChunk,
  decompressChunk,
} from "../../src/chunk/codec.ts";
import { hashChunk } from "../../src/chunk/digest.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { pseudoRandom } from "../helpers.ts";

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
