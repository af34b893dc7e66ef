/**
 * info: what an index describes and, as Go desync's `info` counts it, how much
 * of it the seeds, a cache and the stores already hold. Every count is of
 * unique chunks; every size is of their plain bytes.
 */
import { DesyncError } from "../errors.ts";
import { type ChunkId, isChunkId } from "../format/chunk_id.ts";
import { digestOf, type Index, indexLength } from "../format/index.ts";
import { isChunkFileStore, isListStore, type Store } from "../store/store.ts";
import { checkPresence } from "./chunk_presence.ts";

/** Go desync's ChunkAdditionalInfo, as `inspect-chunks` writes it. */
export interface ChunkAdditionalInfo {
  id: ChunkId;
  uncompressed_size: number;
  compressed_size?: number;
}

export interface InfoOptions {
  /** Stores to count the chunks of (`-s`). */
  store?: Store;
  /** A cache (`-c`). */
  cache?: Store;
  /** Chunk IDs the seed indexes list. */
  seedIds?: ReadonlySet<ChunkId>;
  /** Seeds that must be asked (plain files chunked on the fly). */
  seedStore?: Store;
  /** From `inspect-chunks`: compressed sizes, for the download estimate. */
  chunksInfo?: readonly ChunkAdditionalInfo[];
  /** Where `chunksInfo` came from, for messages. */
  chunksInfoName?: string;
  concurrency?: number;
  signal?: AbortSignal;
}

export interface IndexInfo {
  total: number;
  unique: number;
  inStore: number;
  inSeed: number;
  inCache: number;
  notInSeedNorCache: number;
  size: number;
  sizeNotInSeed: number;
  sizeNotInSeedNorCache: number;
  /** 0 unless `chunksInfo` knows the compressed size of every chunk counted. */
  sizeNotInSeedNorCacheCompressed: number;
  chunkSizeMin: number;
  chunkSizeAvg: number;
  chunkSizeMax: number;
  /** Not in Go desync's output: the index's digest and feature flags. */
  digest: string;
  featureFlags: string;
}

export async function indexInfo(index: Index, options: InfoOptions = {}): Promise<IndexInfo> {
  const unique = new Map<ChunkId, number>();
  for (const chunk of index.chunks) if (!unique.has(chunk.id)) unique.set(chunk.id, chunk.size);
  const concurrency = options.concurrency ?? 10;
  const ids = [...unique.keys()];
  const has = async (store: Store | undefined) => {
    const found = new Set<ChunkId>();
    if (!store) return found;
    if (isListStore(store) && !isChunkFileStore(store)) {
      // A remote store that lists (S3, SFTP) answers a thousand names a request, not one.
      for await (const id of store.listChunks(options.signal)) if (unique.has(id)) found.add(id);
      return found;
    }
    await checkPresence(ids, store, concurrency, options.signal, (id, present) => {
      if (present) found.add(id);
    });
    return found;
  };
  const [inStore, inCache, inSeedStore] = await Promise.all([
    has(options.store),
    has(options.cache),
    has(options.seedStore),
  ]);
  const inSeed = (id: ChunkId) => options.seedIds?.has(id) || inSeedStore.has(id);
  const compressed = new Map(options.chunksInfo?.map((info) => [info.id, info]));
  let estimate = options.chunksInfo !== undefined;
  const info: IndexInfo = {
    total: index.chunks.length,
    unique: unique.size,
    inStore: inStore.size,
    inSeed: 0,
    inCache: inCache.size,
    notInSeedNorCache: 0,
    size: indexLength(index),
    sizeNotInSeed: 0,
    sizeNotInSeedNorCache: 0,
    sizeNotInSeedNorCacheCompressed: 0,
    chunkSizeMin: index.chunkSizeMin,
    chunkSizeAvg: index.chunkSizeAvg,
    chunkSizeMax: index.chunkSizeMax,
    digest: digestOf(index),
    featureFlags: `0x${index.featureFlags.toString(16).padStart(16, "0")}`,
  };
  for (const [id, size] of unique) {
    const seeded = inSeed(id);
    if (seeded) info.inSeed++;
    else info.sizeNotInSeed += size;
    if (seeded || inCache.has(id)) continue;
    info.notInSeedNorCache++;
    info.sizeNotInSeedNorCache += size;
    const known = compressed.get(id);
    if (known && known.uncompressed_size !== size) {
      throw new DesyncError(
        `${options.chunksInfoName ?? "chunks info"}: chunk ${id} has uncompressed size ` +
          `${known.uncompressed_size}, the index says ${size}`,
      );
    }
    if (!estimate) continue;
    // As Go desync: one chunk without a known compressed size makes the estimate 0.
    if (!known?.compressed_size) {
      estimate = false;
      info.sizeNotInSeedNorCacheCompressed = 0;
      continue;
    }
    info.sizeNotInSeedNorCacheCompressed += known.compressed_size;
  }
  return info;
}

/** Go desync's `info` JSON: its keys, in its order. */
export function goInfoJson(info: IndexInfo): Record<string, number> {
  return {
    "total": info.total,
    "unique": info.unique,
    "in-store": info.inStore,
    "in-seed": info.inSeed,
    "in-cache": info.inCache,
    "not-in-seed-nor-cache": info.notInSeedNorCache,
    "size": info.size,
    "dedup-size-not-in-seed": info.sizeNotInSeed,
    "dedup-size-not-in-seed-nor-cache": info.sizeNotInSeedNorCache,
    "dedup-size-not-in-seed-nor-cache-compressed": info.sizeNotInSeedNorCacheCompressed,
    "chunk-size-min": info.chunkSizeMin,
    "chunk-size-avg": info.chunkSizeAvg,
    "chunk-size-max": info.chunkSizeMax,
  };
}

/** Go desync's `info -f plain` lines, then the digest and feature flags. */
export function infoLines(info: IndexInfo): string[] {
  return [
    `Blob size: ${info.size}`,
    `Size of deduplicated chunks not in seed: ${info.sizeNotInSeed}`,
    `Size of deduplicated chunks not in seed nor cache: ${info.sizeNotInSeedNorCache}`,
    `Total chunks: ${info.total}`,
    `Unique chunks: ${info.unique}`,
    `Chunks in store: ${info.inStore}`,
    `Chunks in seed: ${info.inSeed}`,
    `Chunks in cache: ${info.inCache}`,
    `Chunks not in seed nor cache: ${info.notInSeedNorCache}`,
    `Compressed chunks not in seed nor cache: ${info.sizeNotInSeedNorCacheCompressed}`,
    `Chunk size min: ${info.chunkSizeMin}`,
    `Chunk size avg: ${info.chunkSizeAvg}`,
    `Chunk size max: ${info.chunkSizeMax}`,
    `Digest: ${info.digest}`,
    `Feature flags: ${info.featureFlags}`,
  ];
}

/** Parses a chunks-info file (`inspect-chunks` output), naming it in every complaint. */
export function parseChunksInfo(text: string, name: string): ChunkAdditionalInfo[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DesyncError(`${name}: not a chunks info file: ${(error as Error).message}`);
  }
  if (parsed === null) return []; // Go writes null for an index without chunks
  if (!Array.isArray(parsed)) throw new DesyncError(`${name}: not a chunks info file: no list`);
  return parsed.map((entry, i) => {
    const bad = (why: string) => new DesyncError(`${name}: entry ${i}: ${why}`);
    if (typeof entry !== "object" || entry === null) throw bad("not an object");
    const { id, uncompressed_size, compressed_size } = entry as Record<string, unknown>;
    if (typeof id !== "string" || !isChunkId(id)) throw bad("no valid chunk id");
    if (!Number.isSafeInteger(uncompressed_size) || (uncompressed_size as number) < 0) {
      throw bad("uncompressed_size is not a byte count");
    }
    if (
      compressed_size !== undefined &&
      (!Number.isSafeInteger(compressed_size) || (compressed_size as number) < 0)
    ) {
      throw bad("compressed_size is not a byte count");
    }
    return {
      id: id as ChunkId,
      uncompressed_size: uncompressed_size as number,
      ...(compressed_size === undefined ? {} : { compressed_size: compressed_size as number }),
    };
  });
}
