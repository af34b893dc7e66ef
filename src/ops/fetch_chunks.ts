/**
 * The last source of an extract: the stores. Chunks from local stores (and a
 * local cache) never pass through the main thread: a codec worker reads,
 * decodes, verifies and writes them, many per message. Remote chunks go to a
 * worker undecoded, which verifies and writes them.
 */
import { ChunkDataError } from "../chunk/errors.ts";
import { ChunkFileMissing, type PlaceSource } from "../chunk/codec_pool.ts";
import { ChunkInvalid, ChunkMissing } from "../errors.ts";
import type { Digest } from "../format/index.ts";
import { StoreRouter } from "../store/router.ts";
import { CachedStore } from "../store/cache.ts";
import {
  type ChunkFileStore,
  isChunkFileStore,
  isRawChunkStore,
  type Store,
} from "../store/store.ts";
import { forEachLimited } from "../util/tasks.ts";
import type { Need } from "./chunk_needs.ts";
import type { CopyContext } from "./copy_seeds.ts";

/** Chunks a local store's worker reads per message; enough to make messaging negligible. */
const FILE_BATCH = 32;

/** Writes every chunk still needed from the stores; a chunk none has is ChunkMissing. */
export async function fetchNeeded(
  context: CopyContext,
  store: Store,
  concurrency: number,
): Promise<void> {
  const needs = [...context.needs.values()];
  const sources = store instanceof StoreRouter ? store.stores : [store];
  // A local cache in front: hits are read by the workers straight from its files.
  const localCache = store instanceof CachedStore && isChunkFileStore(store.cache)
    ? store.cache
    : undefined;
  const placed = (need: Need) => {
    context.needs.take(need.id);
    context.filled(need, "store");
  };
  const missingFrom = sources.length === 1 ? sources[0].name : undefined;
  let rest = needs;
  let later = sources;
  if (localCache) {
    // Misses go through the cache wrapper, which fetches upstream and fills the cache.
    // With --cache-repair an invalid cached chunk is a miss: the cache wrapper replaces it.
    const hits = {
      touch: true,
      remedy: " (repair with verify -r, or leave out --cache-repair=false)",
      repair: store instanceof CachedStore && store.repair,
    };
    rest = await placeFromFiles(context, needs, localCache, placed, hits);
  } else if (isChunkFileStore(sources[0])) {
    rest = await placeFromFiles(context, needs, sources[0], placed);
    later = sources.slice(1);
  }
  await forEachLimited(rest, concurrency, async (need, signal) => {
    await placeChunk(context, need, later, signal, missingFrom);
    placed(need);
  }, context.signal);
}

/**
 * Places chunks straight from a local store's files, in batches run by the
 * codec workers. Returns the chunks whose files the store does not have.
 */
async function placeFromFiles(
  context: CopyContext,
  needs: readonly Need[],
  store: ChunkFileStore,
  placed: (need: Need) => void,
  hits: { touch: boolean; remedy?: string; repair?: boolean } = { touch: false },
): Promise<Need[]> {
  const { codec } = context;
  const missing: Need[] = [];
  const batches: Need[][] = [];
  for (let i = 0; i < needs.length; i += FILE_BATCH) {
    batches.push(needs.slice(i, i + FILE_BATCH));
  }
  const digests: Digest[] = [context.digest];
  await forEachLimited(batches, 2 * codec.size, async (batch) => {
    const items = batch.map((need) => ({ ...need, path: store.chunkPath(need.id) }));
    const outcomes = await codec.placeFiles(items, digests, context.output, hits.touch);
    outcomes.forEach((outcome, i) => {
      if (outcome.ok) placed(batch[i]);
      else if (outcome.missing || hits.repair) missing.push(batch[i]);
      else {
        const detail = outcome.error.message + (hits.remedy ?? "");
        throw new ChunkInvalid(batch[i].id, store.name, detail);
      }
    });
  }, context.signal);
  return missing;
}

/** Writes one chunk at its offsets, from the first store in `sources` that has it. */
async function placeChunk(
  context: CopyContext,
  need: Need,
  sources: readonly Store[],
  signal: AbortSignal,
  missingFrom: string | undefined,
): Promise<void> {
  const { id } = need;
  const { codec } = context;
  const job = { ...need, digests: [context.digest], output: context.output };
  for (const source of sources) {
    if (isChunkFileStore(source)) {
      try {
        await codec.place({ ...job, source: { kind: "file", path: source.chunkPath(id) } });
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
      await codec.place({ ...job, source: data });
    } catch (error) {
      if (error instanceof ChunkDataError) throw new ChunkInvalid(id, source.name, error.message);
      throw error;
    }
    return;
  }
  throw new ChunkMissing(id, missingFrom);
}
