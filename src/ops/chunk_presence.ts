/**
 * Which chunks a store holds, asked chunk by chunk. A local store's files are
 * looked for synchronously, which is several times faster than Deno's
 * asynchronous stat (a 1 GiB blob's 16,000 took ~0.7 s) and starts no blocking
 * threads, whose stacks and allocator arenas stay for the rest of the run.
 */
import { chunkFileExistsSync } from "../chunk/store_files.ts";
import { StoreError } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import { uncompressedPath } from "../format/store_layout.ts";
import { isChunkFileStore, type Store } from "../store/store.ts";
import { describeFsError } from "../util/fs.ts";
import { forEachLimited } from "../util/tasks.ts";

/** Presence checks between yields to the event loop (signals, progress). */
const CHECKS_PER_TURN = 1024;

/** Tells `seen` of each of `ids` whether `store` holds it (`concurrency` asked at once, remotely). */
export async function checkPresence(
  ids: Iterable<ChunkId>,
  store: Store,
  concurrency: number,
  signal: AbortSignal | undefined,
  seen: (id: ChunkId, present: boolean) => void,
): Promise<void> {
  if (!isChunkFileStore(store)) {
    await forEachLimited(ids, concurrency, async (id, signal) => {
      seen(id, await store.hasChunk(id, signal));
    }, signal);
    return;
  }
  let checked = 0;
  for (const id of ids) {
    const path = store.chunkPath(id);
    try {
      seen(id, chunkFileExistsSync(path) || chunkFileExistsSync(uncompressedPath(path)));
    } catch (error) {
      throw new StoreError(store.name, describeFsError(error), { cause: error });
    }
    if (++checked % CHECKS_PER_TURN === 0) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      signal?.throwIfAborted();
    }
  }
}
