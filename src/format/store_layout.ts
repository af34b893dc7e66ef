/**
 * Where chunks live in a store directory (casync's layout, which Go desync's
 * stores share): `<dir>/<first 4 hex>/<id>.cacnk`, or `<id>` uncompressed.
 * Pure path arithmetic, for stores and codec workers alike.
 */
import type { ChunkId } from "./chunk_id.ts";

export const CHUNK_SUFFIX = ".cacnk";

/** Where a chunk lives in a local store directory. */
export function chunkFilePath(dir: string, id: ChunkId): string {
  return `${dir}/${id.slice(0, 4)}/${id}${CHUNK_SUFFIX}`;
}

/**
 * Go desync's uncompressed stores keep a chunk's plain bytes under its bare ID;
 * they are read (and listed, verified, removed) alongside compressed ones.
 */
export function uncompressedPath(chunkPath: string): string {
  return chunkPath.slice(0, -CHUNK_SUFFIX.length);
}

/** The store directory and chunk ID a chunk file's path names, if it is one. */
export function chunkOfPath(path: string): { store: string; id: ChunkId } | undefined {
  const match = /^(.*)\/([0-9a-f]{4})\/([0-9a-f]{64})(?:\.cacnk)?$/.exec(path);
  if (!match || !match[3].startsWith(match[2])) return undefined;
  return { store: match[1] || "/", id: match[3] as ChunkId };
}
