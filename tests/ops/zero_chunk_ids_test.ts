/**
 * zeroChunkIds hashes zero chunks only of sizes the index has: the header's
 * maximum alone can be casync's 128 MiB, and hashing that much for an index
 * whose chunks are all smaller cost a 128 MiB allocation and ~0.3 s per run.
 */
import { assertEquals } from "../assert.ts";
import { createHash } from "node:crypto";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { CASYNC_BLOB_FLAGS, type Index } from "../../src/format/index.ts";
import { zeroChunkIds } from "../../src/ops/extract.ts";
import { codecTest } from "../helpers.ts";
import { SHA512_256 } from "../../src/format/feature_flags.ts";

const ID = "aa".repeat(32) as ChunkId;

/** The SHA512/256 of `size` zero bytes, from node:crypto rather than our hashing. */
const zeros = (size: number) => createHash("sha512-256").update(new Uint8Array(size)).digest("hex");

function index(max: number, sizes: number[]): Index {
  let start = 0;
  const chunks = sizes.map((size) => {
    const chunk = { id: ID, start, size };
    start += size;
    return chunk;
  });
  return {
    featureFlags: CASYNC_BLOB_FLAGS,
    chunkSizeMin: 1,
    chunkSizeAvg: 1,
    chunkSizeMax: max,
    chunks,
  };
}

Deno.test("zeroChunkIds: only sizes the index's chunks have", async () => {
  const ids = await zeroChunkIds(index(128 << 20, [4096, 4096, 100]));
  assertEquals([...ids.keys()], [100]);
  assertEquals(ids.get(100), zeros(100));
});

Deno.test("zeroChunkIds: the maximum when a chunk has it, and the last chunk's size", async () => {
  const ids = await zeroChunkIds(index(4096, [4096, 4096, 100]));
  assertEquals([...ids.keys()].sort((a, b) => a - b), [100, 4096]);
  assertEquals(ids.get(4096), zeros(4096));
  assertEquals((await zeroChunkIds(index(4096, []))).size, 0);
});

function withDigest(index: Index, digest: "sha256" | "sha512-256"): Index {
  // casync's flags say SHA-256 by the absence of the SHA512/256 flag.
  return digest === "sha256" ? { ...index, featureFlags: index.featureFlags & ~SHA512_256 } : index;
}

codecTest("zeroChunkIds: hashed by the pool's worker with the index's digest", async (_, pool) => {
  for (const digest of ["sha256", "sha512-256"] as const) {
    const ids = await zeroChunkIds(withDigest(index(4096, [4096, 100]), digest), pool);
    const expected = (size: number) =>
      createHash(digest).update(new Uint8Array(size)).digest("hex");
    assertEquals(ids, new Map([[100, expected(100)], [4096, expected(4096)]]), digest);
  }
});

codecTest(
  "hashInWorker moves the data to the worker: a large zero chunk is not copied",
  async (_, pool) => {
    const zeros = new Uint8Array(1 << 20);
    const id = await pool.hashInWorker(zeros, "sha512-256");
    assertEquals(id, createHash("sha512-256").update(new Uint8Array(1 << 20)).digest("hex"));
    assertEquals(zeros.byteLength, 0, "the caller's buffer was transferred, not cloned");
  },
);
