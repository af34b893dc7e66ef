/** cache: make sure a cache store holds every chunk the given indexes name. */
import type { ChunkId } from "../format/chunk_id.ts";
import type { Index } from "../format/index.ts";
import type { Store, WriteStore } from "../store/store.ts";
import { progressBar } from "../util/progress.ts";
import { forEachLimited } from "../util/tasks.ts";

export interface CacheOptions {
  indexes: readonly Index[];
  store: Store;
  cache: WriteStore;
  concurrency: number;
  signal?: AbortSignal;
  progress?: boolean;
}

export interface CacheStats {
  unique: number;
  present: number;
  fetched: number;
}

export async function fillCache(options: CacheOptions): Promise<CacheStats> {
  const ids = new Set<ChunkId>();
  for (const index of options.indexes) for (const chunk of index.chunks) ids.add(chunk.id);
  const stats: CacheStats = { unique: ids.size, present: 0, fetched: 0 };
  const progress = progressBar("cache", ids.size, options.progress);
  try {
    await forEachLimited(ids, options.concurrency, async (id, signal) => {
      if (await options.cache.hasChunk(id, signal)) {
        stats.present++;
      } else {
        const chunk = await options.store.getChunk(id, signal);
        await options.cache.storeChunk(chunk, signal);
        stats.fetched++;
      }
      progress.add(1);
    }, options.signal);
  } finally {
    progress.done();
  }
  return stats;
}
