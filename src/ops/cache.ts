/**
 * cache: make sure a cache store holds every chunk the given indexes name.
 * From a local store into a local cache, chunk files are verified and copied
 * by the codec workers in batches; anything else goes chunk by chunk.
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { ChunkInvalid } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import { type Digest, digestOf, type Index } from "../format/index.ts";
import {
  type ChunkFileStore,
  isChunkFileStore,
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
    let wanted: ChunkId[] = [];
    await forEachLimited(ids, options.concurrency, async (id, signal) => {
      if (await cache.hasChunk(id, signal)) {
        stats.present++;
        progress.add(1);
      } else {
        wanted.push(id);
      }
    }, options.signal);

    const first = isStoreSequence(store) ? store.sequence[0] : store;
    if (isChunkFileStore(cache) && !cache.uncompressed && isChunkFileStore(first)) {
      const digests = [...new Set(options.indexes.map(digestOf))];
      wanted = await copyFromFiles(wanted, first, cache, codec, digests, options.signal, () => {
        stats.fetched++;
        progress.add(1);
      });
    }
    await forEachLimited(wanted, requestWindow(store, options.concurrency), async (id, signal) => {
      await cache.storeChunk(await store.getChunk(id, signal), signal);
      stats.fetched++;
      progress.add(1);
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
