/** info: what an index describes, and with stores, how much of it is already there. */
import type { ChunkId } from "../format/chunk_id.ts";
import { digestOf, type Index, indexLength } from "../format/index.ts";
import { isChunkFileStore, isListStore, type Store } from "../store/store.ts";
import { forEachLimited } from "../util/tasks.ts";

export interface IndexInfo {
  size: number;
  chunks: number;
  uniqueChunks: number;
  digest: string;
  featureFlags: string;
  chunkSizeMin: number;
  chunkSizeAvg: number;
  chunkSizeMax: number;
  /** Smallest, mean (rounded) and largest chunk actually in the index. */
  actualChunkSizeMin: number;
  actualChunkSizeAvg: number;
  actualChunkSizeMax: number;
  /** With stores: unique chunks (and their plain bytes) present and still to fetch. */
  inStore?: { chunks: number; bytes: number };
  toFetch?: { chunks: number; bytes: number };
  /** With seeds: unique chunks (and their plain bytes) the seeds hold, and the rest. */
  inSeeds?: { chunks: number; bytes: number };
  notInSeeds?: { chunks: number; bytes: number };
}

export async function indexInfo(
  index: Index,
  options: { store?: Store; seeds?: Store; concurrency?: number; signal?: AbortSignal } = {},
): Promise<IndexInfo> {
  const sizes = new Map<ChunkId, number>();
  for (const chunk of index.chunks) sizes.set(chunk.id, chunk.size);
  let smallest = Infinity;
  let largest = 0;
  for (const chunk of index.chunks) {
    smallest = Math.min(smallest, chunk.size);
    largest = Math.max(largest, chunk.size);
  }
  const count = index.chunks.length;
  const size = indexLength(index);
  const info: IndexInfo = {
    size,
    chunks: count,
    uniqueChunks: sizes.size,
    digest: digestOf(index),
    featureFlags: `0x${index.featureFlags.toString(16).padStart(16, "0")}`,
    chunkSizeMin: index.chunkSizeMin,
    chunkSizeAvg: index.chunkSizeAvg,
    chunkSizeMax: index.chunkSizeMax,
    actualChunkSizeMin: count ? smallest : 0,
    actualChunkSizeAvg: count ? Math.round(size / count) : 0,
    actualChunkSizeMax: largest,
  };
  if (options.store) {
    [info.inStore, info.toFetch] = await split(sizes, options.store, options);
  }
  if (options.seeds) {
    [info.inSeeds, info.notInSeeds] = await split(sizes, options.seeds, options);
  }
  return info;
}

/** The chunks (and bytes) `store` has, and those it lacks. */
async function split(
  sizes: Map<ChunkId, number>,
  store: Store,
  options: { concurrency?: number; signal?: AbortSignal },
) {
  const has = { chunks: 0, bytes: 0 };
  const lacks = { chunks: 0, bytes: 0 };
  // A remote store that lists (S3, SFTP) answers a thousand names a request, not one.
  const listed = isListStore(store) && !isChunkFileStore(store)
    ? await collect(store.listChunks(options.signal))
    : undefined;
  await forEachLimited(sizes, options.concurrency ?? 10, async ([id, chunkSize], signal) => {
    const present = listed ? listed.has(id) : await store.hasChunk(id, signal);
    const tally = present ? has : lacks;
    tally.chunks++;
    tally.bytes += chunkSize;
  }, options.signal);
  return [has, lacks];
}

async function collect(ids: AsyncIterable<ChunkId>): Promise<Set<ChunkId>> {
  const set = new Set<ChunkId>();
  for await (const id of ids) set.add(id);
  return set;
}
