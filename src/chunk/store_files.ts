/**
 * Synchronous chunk-file helpers for codec workers: what a store entry is, and
 * writing a compressed chunk into a store directory. (Stores do their own
 * writes asynchronously; these run inside workers.)
 */
import { ChunkInvalid, StoreError } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import { chunkFilePath, chunkOfPath } from "../format/store_layout.ts";
import { describeFsError, tempName } from "../util/fs.ts";
import { nodeFs } from "../util/node_builtins.ts";

/**
 * The message for a chunk's name taken by something that is not a chunk file,
 * worded as ChunkInvalid words it (the worker cannot send the class itself).
 */
export function notAChunkFileMessage(path: string, kind: string): string {
  const chunk = chunkOfPath(path);
  const detail = notAChunkFileDetail(path, kind);
  return chunk ? new ChunkInvalid(chunk.id, chunk.store, detail).message : detail;
}

/** What a store entry under a chunk's name is instead of a chunk file, as ChunkInvalid's detail. */
export function notAChunkFileDetail(path: string, kind: string): string {
  return `${path} is ${kind}, not a chunk file`;
}

/**
 * Writes a compressed chunk into a store directory unless it is already there
 * (synchronous: for codec workers). Returns whether it wrote the file. With
 * `touchExisting`, a chunk already there is marked as used now, so a prune
 * running meanwhile spares it.
 */
export function writeChunkFileSync(
  dir: string,
  id: ChunkId,
  compressed: () => Uint8Array,
  options: { touchExisting?: boolean } = {},
): boolean {
  const path = chunkFilePath(dir, id);
  let present: boolean;
  try {
    // Only what exists is stat'ed (a directory or FIFO under the name is not a chunk).
    present = entryExists(path) && isChunkFile(Deno.statSync(path));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new StoreError(dir, `writing chunk ${id}: ${describeFsError(error)}`, { cause: error });
    }
    present = false;
  }
  if (present) {
    if (options.touchExisting) touchFile(path);
    return false;
  }
  const temp = tempName(path);
  const prefix = path.slice(0, path.lastIndexOf("/"));
  let step = `create directory ${prefix}`;
  try {
    Deno.mkdirSync(prefix, { recursive: true });
    const data = compressed();
    step = `write ${temp}`;
    Deno.writeFileSync(temp, data);
    step = `rename ${temp} to ${path}`;
    Deno.renameSync(temp, path);
  } catch (error) {
    try {
      Deno.removeSync(temp);
    } catch {
      // nothing was written
    }
    throw chunkWriteError(dir, id, step, error);
  }
  return true;
}

/**
 * Whether a chunk file is at `path` (synchronous; not found is the common case
 * and costs no exception).
 */
export function chunkFileExistsSync(path: string): boolean {
  try {
    return entryExists(path) && isChunkFile(Deno.statSync(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Whether a store entry can be a chunk file: a regular file that is not empty
 * (no chunk is: an empty one is what a crash can leave of a new file whose data
 * never reached the disk, and writers replace it).
 */
export function isChunkFile(info: Deno.FileInfo): boolean {
  return info.isFile && info.size > 0;
}

/** A failed chunk write, naming the step that failed and its path. */
export function chunkWriteError(store: string, id: ChunkId, step: string, error: unknown) {
  return new StoreError(store, `writing chunk ${id}: cannot ${step}: ${describeFsError(error)}`, {
    cause: error,
  });
}

/**
 * Whether anything is at `path`, without the exception a failed Deno.statSync
 * throws: ~8 µs each, for every chunk a fresh store lacks.
 */
function entryExists(path: string): boolean {
  return nodeFs().existsSync(path);
}

/** Marks a file as used now (best effort: what was read or found is fine either way). */
export function touchFile(path: string) {
  const now = new Date();
  try {
    Deno.utimeSync(path, now, now);
  } catch {
    // a store we may read but not write, say
  }
}
