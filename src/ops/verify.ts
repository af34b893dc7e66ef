/**
 * verify: read every chunk of a local store and check it decompresses and
 * hashes to its name; optionally remove the bad ones.
 */
import { ChunkInvalid } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { LocalStore } from "../store/local.ts";
import { forEachLimited } from "../util/tasks.ts";

export interface VerifyOptions {
  store: LocalStore;
  repair: boolean;
  concurrency: number;
  signal?: AbortSignal;
  /** Called once per invalid chunk, as soon as it is found. */
  onInvalid?: (error: ChunkInvalid) => void;
}

export interface VerifyStats {
  checked: number;
  invalid: ChunkId[];
  removed: number;
}

export async function verifyStore(options: VerifyOptions): Promise<VerifyStats> {
  const { store } = options;
  const stats: VerifyStats = { checked: 0, invalid: [], removed: 0 };
  await forEachLimited(store.listChunks(), options.concurrency, async (id) => {
    stats.checked++;
    try {
      await store.getChunk(id);
    } catch (error) {
      if (!(error instanceof ChunkInvalid)) throw error;
      stats.invalid.push(id);
      options.onInvalid?.(error);
      if (options.repair) {
        await store.removeChunk(id);
        stats.removed++;
      }
    }
  }, options.signal);
  return stats;
}
