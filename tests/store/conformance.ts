/**
 * The store conformance suite: every backend runs the same tests by supplying a
 * factory for a fresh store and a way to damage a chunk behind its back.
 */
import { assert, assertBytesEqual, assertEquals, assertRejects } from "../assert.ts";
import { CodecPool } from "../../src/chunk/codec_pool.ts";
import { compressChunk } from "../../src/chunk/codec.ts";
import { hashChunk } from "../../src/chunk/digest.ts";
import { ChunkInvalid, ChunkMissing } from "../../src/errors.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import type { Digest } from "../../src/format/index.ts";
import {
  type Chunk,
  isPruneStore,
  isWriteStore,
  type Store,
  type WriteStore,
} from "../../src/store/store.ts";
import { pseudoRandom } from "../helpers.ts";

export interface StoreFixture {
  store: Store;
  /** Puts a chunk in place by the backend's own means (for read-only backends). */
  seed(chunk: Chunk): Promise<void>;
  /** Replaces a stored chunk's bytes with garbage. */
  corrupt(id: ChunkId): Promise<void>;
  cleanup(): Promise<void>;
}

export type StoreFactory = (codec: CodecPool, digest: Digest) => Promise<StoreFixture>;

export function makeChunk(
  seed: number,
  size = 4096 + seed * 97,
  digest: Digest = "sha512-256",
): Chunk {
  const plain = pseudoRandom(size, seed);
  return { id: hashChunk(plain, digest), plain, compressed: compressChunk(plain) };
}

export interface ConformanceOptions {
  /** Why the backend cannot be tested here (a missing peer), or false. */
  ignore?: string | false;
  /** The backend writes chunks (WriteStore). */
  writable?: boolean;
  /** The backend lists and removes chunks (PruneStore). */
  prunable?: boolean;
}

export function storeConformance(
  name: string,
  factory: StoreFactory,
  options: ConformanceOptions = {},
) {
  const test = (
    title: string,
    fn: (fixture: StoreFixture, codec: CodecPool) => Promise<void>,
    needs = true,
  ) =>
    needs && Deno.test({
      name: `${name}: ${title}${options.ignore ? ` (ignored: ${options.ignore})` : ""}`,
      ignore: Boolean(options.ignore),
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        const codec = new CodecPool(1);
        const fixture = await factory(codec, "sha512-256");
        try {
          await fn(fixture, codec);
        } finally {
          await fixture.store.close();
          await fixture.cleanup();
          codec.close();
        }
      },
    });

  test("a stored chunk reads back verified, has() sees it", async ({ store, seed }) => {
    const chunk = makeChunk(1);
    await seed(chunk);
    assert(await store.hasChunk(chunk.id));
    const read = await store.getChunk(chunk.id);
    assertEquals(read.id, chunk.id);
    assertBytesEqual(read.plain, chunk.plain);
  });

  test("a missing chunk is ChunkMissing naming the chunk and store", async ({ store }) => {
    const id = makeChunk(2).id;
    assertEquals(await store.hasChunk(id), false);
    const error = await assertRejects(() => store.getChunk(id), ChunkMissing, id);
    assert(error.message.includes(store.name), error.message);
  });

  test("a corrupt chunk is ChunkInvalid naming the chunk and store", async (fixture) => {
    const chunk = makeChunk(3);
    await fixture.seed(chunk);
    await fixture.corrupt(chunk.id);
    const error = await assertRejects(() => fixture.store.getChunk(chunk.id), ChunkInvalid);
    assert(error.message.includes(chunk.id) && error.message.includes(fixture.store.name));
  });

  test("a chunk stored under the wrong name is ChunkInvalid", async ({ store, seed }) => {
    const chunk = makeChunk(4);
    const other = makeChunk(5);
    await seed({ ...chunk, id: other.id });
    await assertRejects(() => store.getChunk(other.id), ChunkInvalid, other.id);
  });

  test("concurrent writes of the same chunks leave whole, valid chunks", async ({ store }) => {
    assert(isWriteStore(store), "the backend says it is writable");
    const chunks = [6, 7, 8].map((seed) => makeChunk(seed, 200_000));
    const writes = [];
    for (let round = 0; round < 8; round++) {
      for (const chunk of chunks) {
        writes.push(
          (store as WriteStore).storeChunk(
            round % 2 ? { id: chunk.id, plain: chunk.plain } : chunk,
          ),
        );
      }
    }
    await Promise.all(writes);
    for (const chunk of chunks) {
      assertBytesEqual((await store.getChunk(chunk.id)).plain, chunk.plain);
    }
  }, options.writable ?? false);

  test("list and remove", async ({ store, seed }) => {
    assert(isPruneStore(store), "the backend says it lists and removes");
    const chunks = [9, 10, 11].map((seed) => makeChunk(seed));
    for (const chunk of chunks) await seed(chunk);
    const listed = [];
    for await (const id of store.listChunks()) listed.push(id);
    assertEquals(listed.sort(), chunks.map((chunk) => chunk.id).sort());
    await store.removeChunk(chunks[0].id);
    assertEquals(await store.hasChunk(chunks[0].id), false);
    assert(await store.hasChunk(chunks[1].id));
    // verify -r's removal: the form the store reads is the one that goes.
    await store.removeChunk(chunks[1].id, { firstFormOnly: true });
    assertEquals(await store.hasChunk(chunks[1].id), false);
    assert(await store.hasChunk(chunks[2].id));
  }, options.prunable ?? false);
}
