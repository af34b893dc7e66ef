/** extract as a library call: repeated chunks are fetched once, zero chunks never. */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { ChunkInvalid, ChunkMissing } from "../../src/errors.ts";
import { CachedStore } from "../../src/store/cache.ts";
import type { Index } from "../../src/format/index.ts";
import { extract } from "../../src/ops/extract.ts";
import { indexInfo } from "../../src/ops/info.ts";
import { LocalStore } from "../../src/store/local.ts";
import { StoreRouter } from "../../src/store/router.ts";
import { codecTest, indexOfPieces, pseudoRandom } from "../helpers.ts";

const MAX = 8192;

/** Pieces: A, zeros(max), B, A, zeros(max), C (short, last). */
function blobAndIndex(): { data: Uint8Array; index: Index; pieces: Uint8Array[] } {
  const a = pseudoRandom(5000, 1);
  const b = pseudoRandom(6000, 2);
  const c = pseudoRandom(100, 3);
  const zeros = new Uint8Array(MAX);
  const pieces = [a, zeros, b, a, zeros, c];
  return { ...indexOfPieces(pieces, MAX), pieces };
}

codecTest(
  "extract fetches each distinct chunk once and skips all-zero chunks",
  async (dir, codec) => {
    const { data, index, pieces } = blobAndIndex();
    const first = await LocalStore.open(`${dir}/first`, {
      codec,
      digests: ["sha512-256"],
      create: true,
    });
    const second = await LocalStore.open(`${dir}/second`, {
      codec,
      digests: ["sha512-256"],
      create: true,
    });
    // A in the first store, B and C only in the second; no store holds the zero chunk.
    await first.storeChunk({ id: index.chunks[0].id, plain: pieces[0] });
    await second.storeChunk({ id: index.chunks[2].id, plain: pieces[2] });
    await second.storeChunk({ id: index.chunks[5].id, plain: pieces[5] });
    const store = new StoreRouter([first, second]);
    const stats = await extract({ index, store, output: `${dir}/out`, codec, concurrency: 3 });
    assertEquals(await Deno.readFile(`${dir}/out`), data);
    const none = { chunks: 0, bytes: 0 };
    assertEquals(stats, {
      chunks: 6,
      bytes: data.length,
      seedsUsed: 0,
      zero: { chunks: 2, bytes: 2 * MAX },
      inPlace: none,
      seeds: none,
      output: none,
      // A, B and C fetched once each; the second A copied from the first.
      stores: { chunks: 3, bytes: 5000 + 6000 + 100 },
      selfSeed: { chunks: 1, bytes: 5000 },
    });

    // As a cache, the stores leave one unique chunk (an all-zero one of MAX bytes) to fetch.
    const info = await indexInfo(index, { store, cache: store });
    assertEquals(
      [info.unique, info.inStore, info.notInSeedNorCache, info.sizeNotInSeedNorCache],
      [4, 3, 1, MAX],
    );

    await Deno.remove(second.chunkPath(index.chunks[5].id));
    await assertRejects(
      () => extract({ index, store, output: `${dir}/out2`, codec, concurrency: 3 }),
      ChunkMissing,
      index.chunks[5].id,
    );
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "first",
      "out",
      "second",
    ]);
  },
  2,
);

codecTest(
  "extract through a local cache: hits are refreshed, misses fill it, bad hits name the remedy",
  async (dir, codec) => {
    const { data, index, pieces } = blobAndIndex();
    const open = (name: string) =>
      LocalStore.open(`${dir}/${name}`, { codec, digests: ["sha512-256"], create: true });
    const cacheDir = await open("cache");
    const upstream = await open("upstream");
    for (const i of [2, 5]) {
      await upstream.storeChunk({ id: index.chunks[i].id, plain: pieces[i] });
    }
    await cacheDir.storeChunk({ id: index.chunks[0].id, plain: pieces[0] });
    const old = new Date(2001, 0, 1);
    await Deno.utime(cacheDir.chunkPath(index.chunks[0].id), old, old);

    const store = new CachedStore(cacheDir, upstream);
    await extract({ index, store, output: `${dir}/out`, codec, concurrency: 2 });
    assertEquals(await Deno.readFile(`${dir}/out`), data);
    const hit = await Deno.stat(cacheDir.chunkPath(index.chunks[0].id));
    assertEquals(hit.mtime!.getFullYear() > 2001, true, "the hit was touched");

    // A hit in an uncompressed cache (plain `<id>` files) is refreshed too, by the
    // worker that read it and by the store's own touch.
    const plainCache = await LocalStore.open(`${dir}/plain-cache`, {
      codec,
      digests: ["sha512-256"],
      create: true,
      uncompressed: true,
    });
    await plainCache.storeChunk({ id: index.chunks[0].id, plain: pieces[0] });
    const plainPath = cacheDir.chunkPath(index.chunks[0].id)
      .replace(`${dir}/cache`, `${dir}/plain-cache`).replace(/\.cacnk$/, "");
    await Deno.utime(plainPath, old, old);
    await extract({
      index,
      store: new CachedStore(plainCache, upstream),
      output: `${dir}/out2`,
      codec,
      concurrency: 2,
    });
    assert((await Deno.stat(plainPath)).mtime!.getFullYear() > 2001, "the plain hit was touched");
    await Deno.utime(plainPath, old, old);
    await plainCache.touchChunk(index.chunks[0].id);
    assert((await Deno.stat(plainPath)).mtime!.getFullYear() > 2001, "touchChunk found it");
    for (const i of [2, 5]) {
      assertEquals(
        await cacheDir.hasChunk(index.chunks[i].id),
        true,
        "the miss filled the cache",
      );
    }

    await Deno.writeFile(cacheDir.chunkPath(index.chunks[2].id), new Uint8Array([1, 2, 3]));
    await assertRejects(
      () => extract({ index, store, output: `${dir}/out2`, codec, concurrency: 2 }),
      ChunkInvalid,
      "verify -r",
    );
  },
  2,
);
