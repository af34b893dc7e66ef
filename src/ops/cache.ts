/**
 * cache: make sure a cache store holds every chunk the given indexes name.
 * Into a local cache, chunks from local and HTTP stores are read or fetched,
 * verified and written by the codec lanes in batches, never handed between
 * threads (memory stays flat with the blob); anything else goes chunk by chunk.
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { ChunkInvalid } from "../errors.ts";
import { checkPresence } from "./chunk_presence.ts";
import { fetchInBatches } from "./fetch_chunks.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import { type Digest, digestOf, type Index } from "../format/index.ts";
import {
  type ChunkFileStore,
  isChunkFileStore,
  isHttpChunkStore,
  isStoreSequence,
  requestWindow,
  type Store,
  type WriteStore,
} from "../store/store.ts";
import { progressBar } from "../util/progress.ts";
import { forEachLimited } from "../util/tasks.ts";

export interface CacheOptions {
  indexes: readonly Index[];
  store: Store;
  cache: WriteStore;
  codec: CodecPool;
  concurrency: number;
  signal?: AbortSignal;
  progress?: boolean;
  /** Chunks known to be in the cache already (`--ignore`): not looked for. */
  skip?: ReadonlySet<ChunkId>;
}

export interface CacheStats {
  unique: number;
  present: number;
  fetched: number;
}

const BATCH = 32;

export async function fillCache(options: CacheOptions): Promise<CacheStats> {
  const { cache, store, codec } = options;
  const ids = new Set<ChunkId>();
  for (const index of options.indexes) for (const chunk of index.chunks) ids.add(chunk.id);
  for (const id of options.skip ?? []) ids.delete(id);
  const stats: CacheStats = { unique: ids.size, present: 0, fetched: 0 };
  const progress = progressBar("cache", ids.size, { enabled: options.progress, unit: "chunks" });
  try {
    let rest = await absentChunks(ids, cache, options.concurrency, options.signal, () => {
      stats.present++;
      progress.add(1);
    });
    const fetched = () => {
      stats.fetched++;
      progress.add(1);
    };
    if (isChunkFileStore(cache) && !cache.uncompressed) {
      // Local and HTTP sources are read by the workers, which write the cache's files
      // themselves, store after store as long as there are such. Chunks still wanted go
      // through `store` as a whole, as do all from a store of another kind: they are asked
      // in order of the sources again, and one none has is reported by it.
      const digests = [...new Set(options.indexes.map(digestOf))];
      let sizes: Map<ChunkId, number> | undefined;
      for (const source of isStoreSequence(store) ? store.sequence : [store]) {
        if (rest.length === 0) break;
        if (isChunkFileStore(source)) {
          rest = await copyFromFiles(
            rest,
            source,
            cache,
            codec,
            digests,
            options.signal,
            fetched,
          );
        } else if (isHttpChunkStore(source)) {
          // Each lane GETs, verifies and writes its chunks: none is handed between threads.
          const known = sizes ??= chunkSizes(options.indexes);
          rest = await fetchInBatches(rest, {
            codec,
            store: source,
            digests,
            target: { storeDir: cache.dir },
            item: (id) => ({ id, size: known.get(id) ?? 0, offsets: [] }),
            concurrency: options.concurrency,
            signal: options.signal,
          }, fetched);
        } else {
          break;
        }
      }
    }
    await forEachLimited(rest, requestWindow(store, options.concurrency), async (id, signal) => {
      await cache.storeChunk(await store.getChunk(id, signal), signal);
      fetched();
    }, options.signal);
  } finally {
    progress.done();
  }
  return stats;
}

/** Copies chunk files into a local cache in worker batches; returns the IDs `source` lacks. */
async function copyFromFiles(
  ids: readonly ChunkId[],
  source: ChunkFileStore,
  cache: ChunkFileStore,
  codec: CodecPool,
  digests: readonly Digest[],
  signal: AbortSignal | undefined,
  copied: () => void,
): Promise<ChunkId[]> {
  const missing: ChunkId[] = [];
  const batches: ChunkId[][] = [];
  for (let i = 0; i < ids.length; i += BATCH) batches.push(ids.slice(i, i + BATCH));
  await forEachLimited(batches, 2 * codec.size, async (batch) => {
    const items = batch.map((id) => ({ id, path: source.chunkPath(id) }));
    const outcomes = await codec.copyFiles(items, digests, cache.dir);
    outcomes.forEach((outcome, i) => {
      if (outcome.ok) copied();
      else if (outcome.missing) missing.push(batch[i]);
      else throw new ChunkInvalid(batch[i], source.name, outcome.error.message);
    });
  }, signal);
  return missing;
}

/** The chunks of `ids` the cache lacks; `present` is called for each one it has. */
async function absentChunks(
  ids: Iterable<ChunkId>,
  cache: WriteStore,
  concurrency: number,
  signal: AbortSignal | undefined,
  present: () => void,
): Promise<ChunkId[]> {
  const absent: ChunkId[] = [];
  await checkPresence(ids, cache, concurrency, signal, (id, has) => {
    if (has) present();
    else absent.push(id);
  });
  return absent;
}

/** Each chunk's size, as the indexes give it. */
function chunkSizes(indexes: readonly Index[]): Map<ChunkId, number> {
  const sizes = new Map<ChunkId, number>();
  for (const index of indexes) for (const chunk of index.chunks) sizes.set(chunk.id, chunk.size);
  return sizes;
}
