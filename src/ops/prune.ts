/** prune: remove the chunks of a store (local, S3, SFTP) that no given index refers to. */
import type { ChunkId } from "../format/chunk_id.ts";
import type { Index } from "../format/index.ts";
import type { PruneStore } from "../store/store.ts";
import { progressBar } from "../util/progress.ts";
import { forEachLimited } from "../util/tasks.ts";

export interface PruneOptions {
  store: PruneStore;
  indexes: readonly Index[];
  /** Only report what would be removed. */
  dryRun: boolean;
  /** Called before anything is removed, with the count; returning false cancels. */
  confirm?: (unreferenced: number) => Promise<boolean>;
  onRemove?: (id: ChunkId) => void;
  /** Removals at once (a remote store answers each in a round trip). */
  concurrency?: number;
  signal?: AbortSignal;
  progress?: boolean;
}

export interface PruneStats {
  kept: number;
  unreferenced: ChunkId[];
  removed: number;
}

export async function prune(options: PruneOptions): Promise<PruneStats> {
  const referenced = new Set<ChunkId>();
  for (const index of options.indexes) for (const chunk of index.chunks) referenced.add(chunk.id);
  const stats: PruneStats = { kept: 0, unreferenced: [], removed: 0 };
  // Chunks used from now on (a make running meanwhile) are spared, where the store can tell.
  const started = new Date();
  for await (const id of options.store.listChunks(options.signal)) {
    if (referenced.has(id)) stats.kept++;
    else stats.unreferenced.push(id);
  }
  if (options.dryRun || stats.unreferenced.length === 0) return stats;
  if (options.confirm && !(await options.confirm(stats.unreferenced.length))) return stats;
  const progress = progressBar("prune", stats.unreferenced.length, {
    enabled: options.progress,
    unit: "chunks",
  });
  try {
    await forEachLimited(stats.unreferenced, options.concurrency ?? 1, async (id) => {
      const removed = await options.store.removeChunk(id, { unlessUsedSince: started });
      progress.add(1);
      if (removed === false) {
        stats.kept++;
        return;
      }
      stats.removed++;
      options.onRemove?.(id);
    }, options.signal);
  } finally {
    progress.done();
  }
  return stats;
}
