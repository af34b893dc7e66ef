import { assert, assertBytesEqual, assertEquals, assertRejects } from "../assert.ts";
import { CodecPool } from "../../src/chunk/codec_pool.ts";
import { ChunkInvalid, ChunkMissing } from "../../src/errors.ts";
import { CachedStore } from "../../src/store/cache.ts";
import { LocalStore } from "../../src/store/local.ts";
import { StoreRouter } from "../../src/store/router.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { makeChunk } from "./conformance.ts";

async function withStores(
  count: number,
  fn: (stores: LocalStore[], codec: CodecPool) => Promise<void>,
) {
  const dir = await tempDir();
  const codec = new CodecPool(1);
  try {
    const stores = [];
    for (let i = 0; i < count; i++) {
      stores.push(
        await LocalStore.open(`${dir}/s${i}`, { codec, digests: ["sha512-256"], create: true }),
      );
    }
    await fn(stores, codec);
  } finally {
    codec.close();
    await removeDir(dir);
  }
}

const options = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  ...options,
  name: "router: a chunk missing from the first store is found in the second",
  fn: () =>
    withStores(2, async ([a, b]) => {
      const chunk = makeChunk(30);
      await b.storeChunk(chunk);
      const router = new StoreRouter([a, b]);
      assertBytesEqual((await router.getChunk(chunk.id)).plain, chunk.plain);
      assert(await router.hasChunk(chunk.id));
      const missing = makeChunk(31).id;
      const error = await assertRejects(() => router.getChunk(missing), ChunkMissing, missing);
      assert(error.message.includes("all stores"), error.message);
    }),
});

Deno.test({
  ...options,
  name: "router: an invalid chunk in the first store stops the search and names that store",
  fn: () =>
    withStores(2, async ([a, b]) => {
      const chunk = makeChunk(32);
      await a.storeChunk(chunk);
      await b.storeChunk(chunk);
      await Deno.writeFile(a.chunkPath(chunk.id), new Uint8Array(10));
      const error = await assertRejects(
        () => new StoreRouter([a, b]).getChunk(chunk.id),
        ChunkInvalid,
      );
      assertEquals(error.store, a.name);
    }),
});

Deno.test({
  ...options,
  name: "cache: a miss is fetched upstream and written to the cache; a hit refreshes mtime",
  fn: () =>
    withStores(2, async ([cache, upstream]) => {
      const chunk = makeChunk(33);
      await upstream.storeChunk(chunk);
      const cached = new CachedStore(cache, upstream);
      assertBytesEqual((await cached.getChunk(chunk.id)).plain, chunk.plain);
      assert(await cache.hasChunk(chunk.id), "the miss filled the cache");
      const old = new Date(2000, 0, 1);
      await Deno.utime(cache.chunkPath(chunk.id), old, old);
      await Deno.remove(upstream.chunkPath(chunk.id));
      assertBytesEqual((await cached.getChunk(chunk.id)).plain, chunk.plain);
      const mtime = (await Deno.stat(cache.chunkPath(chunk.id))).mtime!;
      assert(mtime.getFullYear() > 2000, "a cache hit touches the chunk file");
    }),
});

Deno.test({
  ...options,
  name: "cache: an invalid chunk in the cache fails, naming the cache and the remedy",
  fn: () =>
    withStores(2, async ([cache, upstream]) => {
      const chunk = makeChunk(34);
      await upstream.storeChunk(chunk);
      await cache.storeChunk(chunk);
      await Deno.writeFile(cache.chunkPath(chunk.id), new Uint8Array(7));
      const error = await assertRejects(
        () => new CachedStore(cache, upstream).getChunk(chunk.id),
        ChunkInvalid,
        "verify -r",
      );
      assertEquals(error.store, cache.name);
    }),
});
