/**
 * chop into a local store: each piece is checked against its ID and stored as
 * a zstd chunk file where casync looks for it; the files are read back with
 * node:zlib's zstd and hashed with node:crypto, not with the code under test.
 */
import { createHash } from "node:crypto";
import { zstdDecompressSync } from "node:zlib";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { BlobMismatch } from "../../src/errors.ts";
import { chop } from "../../src/ops/chop.ts";
import { LocalStore } from "../../src/store/local.ts";
import { codecTest, indexOfPieces, pseudoRandom } from "../helpers.ts";
import type { CodecPool } from "../../src/chunk/codec_pool.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";

/** 150 pieces of 2-40 KB (runs of 1 MiB and of 64 pieces both), piece 9 repeated at 100. */
function blob() {
  const pieces = Array.from(
    { length: 150 },
    (_, i) => pseudoRandom(2_000 + (i * 7919) % 38_000, i + 1),
  );
  pieces[100] = pieces[9];
  return indexOfPieces(pieces, 64 << 10);
}

function storedIds(store: string): string[] {
  const ids: string[] = [];
  for (const prefix of Deno.readDirSync(store)) {
    for (const entry of Deno.readDirSync(`${store}/${prefix.name}`)) {
      const path = `${store}/${prefix.name}/${entry.name}`;
      const plain = zstdDecompressSync(Deno.readFileSync(path));
      const id = createHash("sha512-256").update(plain).digest("hex");
      assertEquals(entry.name, `${id}.cacnk`);
      assertEquals(prefix.name, id.slice(0, 4));
      ids.push(id);
    }
  }
  return ids.sort();
}

/** The blob written into `dir`, with its index, and an empty local store there. */
async function setUp(dir: string, codec: CodecPool) {
  const { data, index } = blob();
  await Deno.writeFile(`${dir}/blob`, data);
  const store = await LocalStore.open(`${dir}/store`, {
    codec,
    digests: ["sha512-256"],
    create: true,
  });
  return { data, index, store };
}

codecTest("chop: every piece is stored once, a second run finds them all", async (dir, codec) => {
  const { index, store } = await setUp(dir, codec);
  const options = { index, blob: `${dir}/blob`, store, codec, concurrency: 4 };
  assertEquals(await chop(options), { chunks: 150, stored: 149, present: 0 });
  const unique = [...new Set(index.chunks.map((chunk) => chunk.id))].sort();
  assertEquals(storedIds(`${dir}/store`), unique);
  assertEquals(await chop(options), { chunks: 150, stored: 0, present: 149 });
});

codecTest("chop: skipped chunks are neither read nor stored", async (dir, codec) => {
  const { index, store } = await setUp(dir, codec);
  const skip = new Set<ChunkId>(index.chunks.filter((_, i) => i % 3 === 0).map((c) => c.id));
  const stats = await chop({ index, blob: `${dir}/blob`, store, codec, concurrency: 3, skip });
  const kept = [...new Set(index.chunks.map((chunk) => chunk.id))].filter((id) => !skip.has(id));
  assertEquals(stats, { chunks: 150, stored: kept.length, present: 0 });
  assertEquals(storedIds(`${dir}/store`), kept.sort());
});

codecTest("chop: the first piece unlike its ID is named, and is not stored", async (dir, codec) => {
  const { data, index } = blob();
  for (const bad of [[120, 41], [0], [149]]) {
    const changed = data.slice();
    for (const i of bad) changed[index.chunks[i].start + 7] ^= 0x10;
    await Deno.writeFile(`${dir}/blob`, changed);
    await Deno.remove(`${dir}/store`, { recursive: true }).catch(() => {});
    const store = await LocalStore.open(`${dir}/store`, {
      codec,
      digests: ["sha512-256"],
      create: true,
    });
    const first = Math.min(...bad);
    const chunk = index.chunks[first];
    const error = await assertRejects(
      () => chop({ index, blob: `${dir}/blob`, store, codec, concurrency: 4 }),
      BlobMismatch,
    );
    const start = changed.subarray(chunk.start, chunk.start + chunk.size);
    const actual = createHash("sha512-256").update(start).digest("hex");
    assertEquals(
      error.message,
      `${dir}/blob: chunk ${first} at offset ${chunk.start} (size ${chunk.size}) hashes to ` +
        `${actual}, the index says ${chunk.id}`,
    );
    const stored = storedIds(`${dir}/store`);
    assert(!stored.includes(actual), "the bad piece is not stored");
    const good = new Set(index.chunks.map((c) => c.id));
    assert(stored.every((id) => good.has(id as ChunkId)), "only pieces that match are stored");
  }
});

codecTest(
  "chop: an uncompressed store gets each piece once as a plain file",
  async (dir, codec) => {
    const { data, index } = blob();
    const changed = data.slice();
    changed[index.chunks[70].start + 3] ^= 0x08;
    await Deno.writeFile(`${dir}/blob`, data);
    await Deno.writeFile(`${dir}/bad`, changed);
    const store = await LocalStore.open(`${dir}/store`, {
      codec,
      digests: ["sha512-256"],
      create: true,
      uncompressed: true,
    });
    const options = { index, store, codec, concurrency: 4 };
    assertEquals(await chop({ ...options, blob: `${dir}/blob` }), {
      chunks: 150,
      stored: 149,
      present: 0,
    });
    const ids: string[] = [];
    for (const prefix of Deno.readDirSync(`${dir}/store`)) {
      for (const entry of Deno.readDirSync(`${dir}/store/${prefix.name}`)) {
        const plain = Deno.readFileSync(`${dir}/store/${prefix.name}/${entry.name}`);
        const id = createHash("sha512-256").update(plain).digest("hex");
        assertEquals(`${prefix.name}/${entry.name}`, `${id.slice(0, 4)}/${id}`);
        ids.push(id);
      }
    }
    assertEquals(ids.sort(), [...new Set(index.chunks.map((chunk) => chunk.id))].sort());
    const error = await assertRejects(
      () => chop({ ...options, blob: `${dir}/bad` }),
      BlobMismatch,
    );
    assert(error.message.startsWith(`${dir}/bad: chunk 70 at offset ${index.chunks[70].start} `));
  },
);
