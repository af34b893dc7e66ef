/**
 * extract: assemble a blob from its index and stores. Unique chunks are fetched
 * with bounded concurrency and written at their offsets into a pre-sized
 * temporary file, which is renamed over the output only when it is complete.
 * Chunks from local stores never pass through the main thread: a codec worker
 * reads, decodes, verifies and writes them.
 */
import { ChunkDataError } from "../chunk/errors.ts";
import { ChunkFileMissing, type CodecPool, type PlaceSource } from "../chunk/codec_pool.ts";
import { ChunkInvalid, ChunkMissing, DesyncError } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import { type Digest, digestOf, type Index, indexLength } from "../format/index.ts";
import { StoreRouter } from "../store/router.ts";
import { CachedStore } from "../store/cache.ts";
import {
  type ChunkFileStore,
  isChunkFileStore,
  isRawChunkStore,
  type Store,
} from "../store/store.ts";
import { writeAtomically } from "../util/fs.ts";
import { progressBar } from "../util/progress.ts";
import { forEachLimited } from "../util/tasks.ts";

export interface ExtractOptions {
  index: Index;
  store: Store;
  output: string;
  codec: CodecPool;
  concurrency: number;
  signal?: AbortSignal;
  progress?: boolean;
}

export interface ExtractStats {
  chunks: number;
  fetched: number;
  zeroChunks: number;
  bytes: number;
}

export async function extract(options: ExtractOptions): Promise<ExtractStats> {
  const { index, store, output, codec } = options;
  const length = indexLength(index);
  const digests: Digest[] = [digestOf(index)];
  const sources = store instanceof StoreRouter ? store.stores : [store];
  // A local cache in front: hits are read by the workers straight from its files.
  const localCache = store instanceof CachedStore && isChunkFileStore(store.cache)
    ? store.cache
    : undefined;
  const zeroIds = await zeroChunkIds(index, codec);
  const stats: ExtractStats = {
    chunks: index.chunks.length,
    fetched: 0,
    zeroChunks: 0,
    bytes: length,
  };
  const progress = progressBar("extract", length, options.progress);
  try {
    await writeAtomically(output, async (file, temp) => {
      await file.truncate(length);
      const placements: Placement[] = [];
      for (const [id, starts] of groupById(index)) {
        const size = index.chunks[starts[0]].size;
        if (zeroIds.get(size) === id) {
          // The pre-sized file already reads as zeros here (a hole on most file systems).
          stats.zeroChunks += starts.length;
          progress.add(size * starts.length);
        } else {
          const offsets = starts.map((i) => index.chunks[i].start);
          placements.push({ id, size, offsets, digests, output: temp });
        }
      }
      const placed = (placement: Placement) => {
        stats.fetched++;
        progress.add(placement.size * placement.offsets.length);
      };
      const missingFrom = sources.length === 1 ? sources[0].name : undefined;
      try {
        let rest = placements;
        let later = sources;
        if (localCache) {
          // Misses go through the cache wrapper, which fetches upstream and fills the cache.
          const hits = { touch: true, remedy: " (repair with verify -r)" };
          rest = await placeFromFiles(placements, localCache, codec, placed, options.signal, hits);
        } else if (isChunkFileStore(sources[0])) {
          rest = await placeFromFiles(placements, sources[0], codec, placed, options.signal);
          later = sources.slice(1);
        }
        await forEachLimited(rest, options.concurrency, async (placement, signal) => {
          await placeChunk(placement, later, codec, signal, missingFrom);
          placed(placement);
        }, options.signal);
      } finally {
        await codec.closeFiles();
      }
      const written = (await file.stat()).size;
      if (written !== length) {
        throw new DesyncError(`${temp}: wrote ${written} bytes, the index describes ${length}`);
      }
    });
  } finally {
    progress.done();
  }
  return stats;
}

interface Placement {
  id: ChunkId;
  size: number;
  offsets: number[];
  digests: readonly Digest[];
  output: string;
}

/** Chunks a local store's worker reads per message; enough to make messaging negligible. */
const FILE_BATCH = 32;

/**
 * Places chunks straight from a local store's files, in batches run by the
 * codec workers. Returns the placements whose files the store does not have.
 */
async function placeFromFiles(
  placements: readonly Placement[],
  store: ChunkFileStore,
  codec: CodecPool,
  placed: (placement: Placement) => void,
  signal?: AbortSignal,
  hits: { touch: boolean; remedy?: string } = { touch: false },
): Promise<Placement[]> {
  const missing: Placement[] = [];
  const batches: Placement[][] = [];
  for (let i = 0; i < placements.length; i += FILE_BATCH) {
    batches.push(placements.slice(i, i + FILE_BATCH));
  }
  const { digests, output } = placements[0] ?? { digests: [], output: "" };
  await forEachLimited(batches, 2 * codec.size, async (batch) => {
    const items = batch.map((p) => ({ ...p, path: store.chunkPath(p.id) }));
    const outcomes = await codec.placeFiles(items, digests, output, hits.touch);
    outcomes.forEach((outcome, i) => {
      if (outcome.ok) placed(batch[i]);
      else if (outcome.missing) missing.push(batch[i]);
      else {
        const detail = outcome.error.message + (hits.remedy ?? "");
        throw new ChunkInvalid(batch[i].id, store.name, detail);
      }
    });
  }, signal);
  return missing;
}

/** Writes one chunk at its offsets, from the first store in `sources` that has it. */
async function placeChunk(
  placement: Placement,
  sources: readonly Store[],
  codec: CodecPool,
  signal: AbortSignal,
  missingFrom: string | undefined,
): Promise<void> {
  const { id } = placement;
  for (const source of sources) {
    if (isChunkFileStore(source)) {
      try {
        await codec.place({ ...placement, source: { kind: "file", path: source.chunkPath(id) } });
        return;
      } catch (error) {
        if (error instanceof ChunkFileMissing) continue;
        if (error instanceof ChunkDataError) throw new ChunkInvalid(id, source.name, error.message);
        throw error;
      }
    }
    let data: PlaceSource;
    try {
      if (isRawChunkStore(source)) {
        // Decoding and verifying happen in the worker that writes the chunk.
        data = { kind: "frame", ...(await source.getRawChunk(id, signal)) };
      } else {
        data = { kind: "plain", data: (await source.getChunk(id, signal)).plain };
      }
    } catch (error) {
      if (error instanceof ChunkMissing) continue;
      throw error;
    }
    try {
      await codec.place({ ...placement, source: data });
    } catch (error) {
      if (error instanceof ChunkDataError) throw new ChunkInvalid(id, source.name, error.message);
      throw error;
    }
    return;
  }
  throw new ChunkMissing(id, missingFrom);
}

/** Chunk positions by ID, so a chunk that repeats is fetched once. */
function groupById(index: Index): Map<ChunkId, number[]> {
  const placements = new Map<ChunkId, number[]>();
  index.chunks.forEach((chunk, i) => {
    const list = placements.get(chunk.id);
    if (list) list.push(i);
    else placements.set(chunk.id, [i]);
  });
  return placements;
}

/**
 * IDs of all-zero chunks of the sizes zero runs produce: runs of zeros have no
 * boundaries, so they are cut at the maximum size, plus whatever the blob ends with.
 */
export async function zeroChunkIds(index: Index, codec: CodecPool): Promise<Map<number, ChunkId>> {
  const sizes = new Set<number>([index.chunkSizeMax]);
  const last = index.chunks.at(-1);
  if (last) sizes.add(last.size);
  const digest = digestOf(index);
  const ids = new Map<number, ChunkId>();
  for (const size of sizes) ids.set(size, await codec.hash(new Uint8Array(size), digest));
  return ids;
}
