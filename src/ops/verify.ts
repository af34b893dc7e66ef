/**
 * verify: read every chunk of a store and check it decompresses and hashes to
 * its name; optionally remove the bad ones. A local store's chunk files are
 * read and checked by the codec workers in batches (their data never reaches
 * this thread), and entries named like chunks that are no chunk files
 * (directories, FIFOs, symbolic links leading out of the store) are reported
 * as invalid too; other stores' chunks are fetched, up to `concurrency` at once.
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { ChunkInvalid, ChunkMissing } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import { LocalStore } from "../store/local.ts";
import type { PruneStore } from "../store/store.ts";
import { progressBar } from "../util/progress.ts";
import { forEachLimited } from "../util/tasks.ts";

export interface VerifyOptions {
  /** Any store that lists its chunks; removal (repair) needs it to remove them too. */
  store: PruneStore;
  codec: CodecPool;
  repair: boolean;
  /** Batches in flight, at most (the workers bound the real parallelism). */
  concurrency: number;
  signal?: AbortSignal;
  /** Called once per invalid chunk, as soon as it is found. */
  onInvalid?: (error: ChunkInvalid) => void;
  progress?: boolean;
}

export interface VerifyStats {
  checked: number;
  invalid: ChunkId[];
  removed: number;
}

const BATCH = 64;

export async function verifyStore(options: VerifyOptions): Promise<VerifyStats> {
  const { store } = options;
  if (store instanceof LocalStore && !store.uncompressed) {
    return await verifyLocal({ ...options, store });
  }
  const stats: VerifyStats = { checked: 0, invalid: [], removed: 0 };
  await forEachLimited(
    store.listChunks(options.signal),
    options.concurrency,
    async (id, signal) => {
      try {
        await store.getChunk(id, signal);
      } catch (error) {
        if (error instanceof ChunkMissing) return; // removed while we looked
        if (!(error instanceof ChunkInvalid)) throw error;
        stats.checked++;
        stats.invalid.push(id);
        options.onInvalid?.(error);
        // Only the file that was read: the chunk's other form may be valid.
        if (options.repair && (await store.removeChunk(id, { firstFormOnly: true })) !== false) {
          stats.removed++;
        }
        return;
      }
      stats.checked++;
    },
    options.signal,
  );
  return stats;
}

async function verifyLocal(options: VerifyOptions & { store: LocalStore }): Promise<VerifyStats> {
  const { store, codec } = options;
  const stats: VerifyStats = { checked: 0, invalid: [], removed: 0 };
  const inFlight = Math.max(1, Math.min(options.concurrency, 2 * codec.size));
  const invalid = async (id: ChunkId, detail: string, remove: () => Promise<boolean | void>) => {
    stats.invalid.push(id);
    options.onInvalid?.(new ChunkInvalid(id, store.name, detail));
    if (options.repair && (await remove()) !== false) stats.removed++;
  };
  /** Chunk files for the workers; entries no worker could read are reported here. */
  async function* chunkFiles(): AsyncIterable<ChunkId> {
    for await (const entries of store.entries()) {
      const odd = new Set<ChunkId>();
      for (const entry of entries) {
        if (entry.problem === undefined) continue;
        odd.add(entry.id);
        stats.checked++;
        await invalid(entry.id, entry.problem, () => store.removeEntry(entry.path));
      }
      yield* new Set(entries.filter((e) => !odd.has(e.id)).map((e) => e.id));
    }
  }
  // The store's size is unknown until it is walked: the bar counts chunks and their rate.
  const progress = progressBar("verify", 0, { enabled: options.progress, unit: "chunks" });
  try {
    await forEachLimited(batchesOf(chunkFiles(), BATCH), inFlight, async (ids) => {
      const items = ids.map((id) => ({ id, path: store.chunkPath(id) }));
      const outcomes = await codec.checkFiles(items, store.digests);
      for (const [i, outcome] of outcomes.entries()) {
        if (!outcome.ok && outcome.missing) continue; // removed while we looked
        stats.checked++;
        progress.add(1);
        if (outcome.ok) continue;
        // Only the file the worker read: the chunk's other form may be valid.
        await invalid(
          ids[i],
          outcome.error.message,
          () => store.removeChunk(ids[i], { firstFormOnly: true }),
        );
      }
    }, options.signal);
  } finally {
    progress.done();
  }
  return stats;
}

async function* batchesOf<T>(items: AsyncIterable<T>, size: number): AsyncIterable<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}
