/**
 * Where chunks live in a store directory (casync's layout, which Go desync's
 * stores share): `<dir>/<first 4 hex>/<id>.cacnk`, or `<id>` uncompressed.
 * Pure path arithmetic, for stores and codec workers alike.
 */
import type { ChunkId } from "./chunk_id.ts";

export const CHUNK_SUFFIX = ".cacnk";

/** casync's largest chunk size (CA_CHUNK_SIZE_LIMIT_MAX): the bound when no index tells one. */
export const CHUNK_SIZE_LIMIT = 128 << 20;

/**
 * The most bytes a store may send for a chunk of at most `maxChunkSize`
 * plain bytes: zstd's worst case (ZSTD_COMPRESSBOUND) plus room for frame
 * headers; gzip's and xz's worst cases are smaller. Anything longer is not a
 * chunk, and is not read to the end.
 */
export function maxStoredChunkSize(maxChunkSize: number): number {
  const blockSlack = maxChunkSize < 128 << 10 ? ((128 << 10) - maxChunkSize) >> 11 : 0;
  return maxChunkSize + (maxChunkSize >> 8) + blockSlack + 1024;
}

/** Where a chunk lives below a store's root: `<4 hex>/<id>.cacnk`, or `<4 hex>/<id>` uncompressed. */
export function chunkKey(id: string, uncompressed: boolean): string {
  return `${id.slice(0, 4)}/${id}${uncompressed ? "" : CHUNK_SUFFIX}`;
}

/**
 * The chunk ID a store-relative name `<4 hex>/<id>[.cacnk]` stands for, or
 * undefined for anything else (index files, temporary files, strays).
 */
export function chunkIdOfKey(key: string): ChunkId | undefined {
  const found = chunkOfPath(`/${key}`);
  return found?.store === "/" ? found.id : undefined; // nothing before the prefix directory
}

/** Where a chunk lives in a local store directory. */
export function chunkFilePath(dir: string, id: ChunkId): string {
  return `${dir}/${chunkKey(id, false)}`;
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
