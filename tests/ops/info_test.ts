/** info's counts as Go desync's `info` makes them: unique chunks, seeds, cache, chunks info. */
import { assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { DesyncError } from "../../src/errors.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { FLAG_SHA512_256, type Index } from "../../src/format/index.ts";
import { goInfoJson, indexInfo, parseChunksInfo } from "../../src/ops/info.ts";
import type { Store } from "../../src/store/store.ts";

const id = (n: number) => n.toString(16).padStart(64, "0") as ChunkId;

// Chunks a, b, a, c, d: five in all, four unique.
const sizes = [100, 200, 100, 300, 400];
const ids = [id(1), id(2), id(1), id(3), id(4)];
let start = 0;
const index: Index = {
  featureFlags: FLAG_SHA512_256,
  chunkSizeMin: 64,
  chunkSizeAvg: 256,
  chunkSizeMax: 1024,
  chunks: ids.map((chunkId, i) => {
    const chunk = { id: chunkId, start, size: sizes[i] };
    start += sizes[i];
    return chunk;
  }),
};

function storeOf(...held: ChunkId[]): Store {
  return {
    name: "memory",
    getChunk: () => Promise.reject(new Error("not asked")),
    hasChunk: (chunkId) => Promise.resolve(held.includes(chunkId)),
    close: () => Promise.resolve(),
  };
}

Deno.test("info: unique chunks in seeds, cache and store, and the sizes left to fetch", async () => {
  const info = await indexInfo(index, {
    store: storeOf(id(1), id(2), id(3)),
    cache: storeOf(id(3), id(9)),
    seedIds: new Set([id(1)]),
  });
  assertEquals(goInfoJson(info), {
    "total": 5,
    "unique": 4,
    "in-store": 3,
    "in-seed": 1,
    "in-cache": 1,
    "not-in-seed-nor-cache": 2,
    "size": 1100,
    "dedup-size-not-in-seed": 900,
    "dedup-size-not-in-seed-nor-cache": 600,
    "dedup-size-not-in-seed-nor-cache-compressed": 0,
    "chunk-size-min": 64,
    "chunk-size-avg": 256,
    "chunk-size-max": 1024,
  });
});

Deno.test("info: the compressed estimate counts only when every chunk left is known", async () => {
  const known = [
    { id: id(2), uncompressed_size: 200, compressed_size: 150 },
    { id: id(4), uncompressed_size: 400, compressed_size: 390 },
  ];
  const seedIds = new Set([id(1), id(3)]);
  const full = await indexInfo(index, { seedIds, chunksInfo: known });
  assertEquals(full.sizeNotInSeedNorCacheCompressed, 540);
  const partial = await indexInfo(index, { seedIds, chunksInfo: known.slice(0, 1) });
  assertEquals(partial.sizeNotInSeedNorCacheCompressed, 0);
  const zero = await indexInfo(index, {
    seedIds,
    chunksInfo: [known[0], { id: id(4), uncompressed_size: 400 }],
  });
  assertEquals(zero.sizeNotInSeedNorCacheCompressed, 0);
  await assertRejects(
    () =>
      indexInfo(index, {
        seedIds,
        chunksInfo: [{ id: id(2), uncompressed_size: 201, compressed_size: 1 }],
        chunksInfoName: "chunks.json",
      }),
    DesyncError,
    "chunks.json: chunk",
  );
  // A wrong size is found after the estimate has already been given up, too.
  await assertRejects(
    () =>
      indexInfo(index, {
        seedIds,
        chunksInfo: [{ id: id(4), uncompressed_size: 401, compressed_size: 1 }],
        chunksInfoName: "chunks.json",
      }),
    DesyncError,
    `chunks.json: chunk ${id(4)} has uncompressed size 401`,
  );
});

Deno.test("info: a chunks info file must be inspect-chunks' JSON", () => {
  assertEquals(parseChunksInfo("null", "x"), []);
  assertEquals(parseChunksInfo(`[{"id":"${id(5)}","uncompressed_size":7}]`, "x"), [
    { id: id(5), uncompressed_size: 7 },
  ]);
  for (const bad of ["{", "{}", `[{"id":"zz","uncompressed_size":1}]`, `[{"id":"${id(5)}"}]`]) {
    assertThrows(() => parseChunksInfo(bad, "chunks.json"), DesyncError, "chunks.json");
  }
});
