/**
 * The last source of an extract: the stores. Chunks from local stores (and a
 * local cache) and from HTTP stores never pass through the main thread: a
 * codec worker reads or GETs, decodes, verifies and writes them, many per
 * message. Other remote chunks go to a worker undecoded, which verifies and
 * writes them.
 */
import { ChunkDataError } from "../chunk/errors.ts";
import { ChunkInvalid, ChunkMissing, StoreError } from "../errors.ts";
import type { Digest } from "../format/index.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { CodecPool, FetchProblem } from "../chunk/codec_pool.ts";
import {
  type ChunkFileStore,
  type HttpChunkStore,
  isCachedSource,
  isChunkFileStore,
  isHttpChunkStore,
  isRawChunkStore,
  isStoreSequence,
  PLAIN_ONLY,
  requestWindow,
  type Store,
} from "../store/store.ts";
import { forEachLimited } from "../util/tasks.ts";
import { accessHint } from "../util/http_client.ts";
import type { Need } from "./chunk_needs.ts";
import type { CopyContext } from "./copy_seeds.ts";
import { FrameBatcher } from "./frame_batcher.ts";

/** Chunks a local store's worker reads per message; enough to make messaging negligible. */
const FILE_BATCH = 32;

/**
 * Batches given out per lane before one comes back. A worker's reply waits
 * while this thread runs a batch of its own lane (about 5 ms), so a worker
 * needs two queued behind the one it runs: with one, 256 MiB from a local store
 * left it idle 35–60 ms, with two 12–20 ms.
 */
const FILES_IN_FLIGHT_PER_LANE = 3;

/**
 * Chunks one HTTP worker job fetches, at most; the worker keeps a few requests
 * in flight. A job's last requests leave its connections idle until the next
 * job arrives: 16 a job made a 256 MiB extract from nginx 7 % slower than 64.
 */
const FETCH_BATCH = 64;
/** At least this many chunks a job, when a small extract spreads its chunks over the lanes. */
const MIN_FETCH_BATCH = 8;

/** Chunks per HTTP job: FETCH_BATCH, unless that would leave some lane without work. */
export function fetchBatchSize(chunks: number, lanes: number): number {
  const fair = Math.ceil(chunks / (4 * Math.max(1, lanes)));
  return Math.max(MIN_FETCH_BATCH, Math.min(FETCH_BATCH, fair));
}

/**
 * Writes every chunk still needed from the stores, asked in order (a chunk
 * missing from one is looked for in the next); a chunk none has is ChunkMissing.
 * Each store is asked in the way it allows: local files and HTTP URLs by the
 * workers in batches, anything else one chunk at a time.
 */
export async function fetchNeeded(
  context: CopyContext,
  store: Store,
  concurrency: number,
): Promise<void> {
  let rest = [...context.needs.values()];
  const placed = (need: Need) => {
    context.needs.take(need.id);
    context.filled(need, "store");
  };
  const sources = isStoreSequence(store) ? store.sequence : [store];
  if (isCachedSource(store)) {
    if (isChunkFileStore(store.cache)) {
      // Hits are read by the workers straight from the cache's files. With --cache-repair an
      // invalid cached chunk is a miss: the cache wrapper fetches it again and replaces it.
      const hits = {
        touch: true,
        remedy: " (repair with verify -r, or leave out --cache-repair=false)",
        repair: store.repair === true,
      };
      rest = await placeFromFiles(context, rest, store.cache, placed, hits);
    }
    // Misses go through the cache wrapper, which fetches upstream and fills the cache.
    rest = await placeEach(context, rest, store, concurrency, placed);
  } else {
    for (const source of sources) {
      if (rest.length === 0) break;
      rest = isChunkFileStore(source)
        ? await placeFromFiles(context, rest, source, placed)
        : isHttpChunkStore(source)
        ? await placeFromHttp(context, rest, source, concurrency, placed)
        : await placeEach(context, rest, source, concurrency, placed);
    }
  }
  if (rest.length > 0) {
    throw new ChunkMissing(rest[0].id, sources.length === 1 ? sources[0].name : undefined);
  }
}

/**
 * Places chunks an HTTP store serves: workers GET, verify and write them in
 * batches. Returns the chunks the store does not have.
 */
function placeFromHttp(
  context: CopyContext,
  needs: readonly Need[],
  store: HttpChunkStore,
  concurrency: number,
  placed: (need: Need) => void,
): Promise<Need[]> {
  return fetchInBatches(needs, {
    codec: context.codec,
    store,
    digests: [context.digest],
    target: { output: context.output },
    item: (need) => need,
    concurrency,
    signal: context.signal,
  }, placed);
}

/** How fetchInBatches hands a store's chunks to the lanes. */
export interface FetchBatches<T> {
  codec: CodecPool;
  store: HttpChunkStore;
  digests: readonly Digest[];
  /** Where the verified chunks go: the output at their offsets, or a local store directory. */
  target: { output: string } | { storeDir: string };
  /** A chunk as the lanes fetch it (its URL is added). */
  item: (chunk: T) => { id: ChunkId; size: number; offsets: readonly number[] };
  concurrency: number;
  signal?: AbortSignal;
}

/**
 * GETs, verifies and writes chunks of an HTTP store in the lanes, in batches:
 * one batch per lane at a time, -n spread over them, so never more than -n
 * requests are in flight. Calls `done` for each chunk written; returns those
 * the store does not have, and throws for any other failure (reported before
 * the chunks it left untried).
 */
export async function fetchInBatches<T>(
  chunks: readonly T[],
  options: FetchBatches<T>,
  done: (chunk: T) => void,
): Promise<T[]> {
  const { codec, store } = options;
  const missing: T[] = [];
  const workers = Math.min(codec.size, options.concurrency);
  const batches: T[][] = [];
  const size = fetchBatchSize(chunks.length, workers);
  for (let i = 0; i < chunks.length; i += size) batches.push(chunks.slice(i, i + size));
  const perJob = Math.max(1, Math.floor(options.concurrency / workers));
  await forEachLimited(batches, workers, async (batch) => {
    const items = batch.map((chunk) => {
      const item = options.item(chunk);
      return { id: item.id, size: item.size, offsets: item.offsets, url: store.chunkUrl(item.id) };
    });
    const outcomes = await codec.fetchPlace({
      ...store.workerFetch,
      ...options.target,
      items,
      digests: options.digests,
      concurrency: perJob,
    });
    const order = [...outcomes.keys()].sort((a, b) =>
      Number(outcomes[a]?.kind === "skipped") - Number(outcomes[b]?.kind === "skipped")
    );
    for (const i of order) {
      const problem = outcomes[i];
      if (problem === null) done(batch[i]);
      else if (problem.kind === "missing") missing.push(batch[i]);
      else throw fetchError(problem, items[i].id, store);
    }
  }, options.signal);
  return missing;
}

/** The error for a chunk a worker could not fetch from `store` (other than a 404). */
function fetchError(
  problem: Exclude<FetchProblem, { kind: "missing" }>,
  id: ChunkId,
  store: HttpChunkStore,
): Error {
  if (problem.kind === "data") return new ChunkInvalid(id, store.name, problem.message);
  if (problem.kind === "skipped") {
    return new StoreError(store.name, `GET chunk ${id}: not tried after a failure`);
  }
  const hint = problem.status ? accessHint(problem.status, store.workerFetch.http) : "";
  return new StoreError(store.name, `GET chunk ${id}: ${problem.message}${hint}`);
}

/** Places chunks a store hands out one at a time; returns those it does not have. */
async function placeEach(
  context: CopyContext,
  needs: readonly Need[],
  source: Store,
  concurrency: number,
  placed: (need: Need) => void,
): Promise<Need[]> {
  const missing: Need[] = [];
  const batcher = new FrameBatcher(context.codec, [context.digest], context.output);
  await forEachLimited(needs, requestWindow(source, concurrency), async (need, signal) => {
    if (await placeChunk(context, need, source, batcher, signal)) placed(need);
    else missing.push(need);
  }, context.signal);
  return missing;
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
  await forEachLimited(batches, FILES_IN_FLIGHT_PER_LANE * codec.size, async (batch) => {
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

/** Writes one chunk at its offsets from `source`; false when the source does not have it. */
async function placeChunk(
  context: CopyContext,
  need: Need,
  source: Store,
  batcher: FrameBatcher,
  signal: AbortSignal,
): Promise<boolean> {
  const { id } = need;
  try {
    if (isRawChunkStore(source)) {
      // Decoding and verifying happen in the worker that writes the chunk, with others.
      const raw = await source.getRawChunk(id, signal);
      const item = { ...need, data: raw.data, compressed: raw.compressed };
      const outcome = await batcher.add(item, raw.ownsBuffer === true);
      if (!outcome.ok && !outcome.missing) {
        throw new ChunkInvalid(id, source.name, outcome.error.message);
      }
      return true;
    }
    const { plain } = await source.getChunk(id, signal, PLAIN_ONLY);
    if (plain.length !== need.size) {
      throw new ChunkInvalid(
        id,
        source.name,
        `holds ${plain.length} bytes, the index says ${need.size}`,
      );
    }
    await context.codec.place({ data: plain, output: context.output, offsets: need.offsets });
    return true;
  } catch (error) {
    if (error instanceof ChunkMissing) return false;
    // Verified by the store, but not the size the index says.
    if (error instanceof ChunkDataError) throw new ChunkInvalid(id, source.name, error.message);
    throw error;
  }
}
