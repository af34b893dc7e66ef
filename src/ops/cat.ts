/**
 * cat: stream a blob (or a byte range of it) in order, without seeking, to a
 * writer such as stdout. Up to `concurrency` chunks are fetched ahead; they are
 * written strictly in order, so memory holds at most that many chunks.
 */
import { DesyncError, UsageError } from "../errors.ts";
import { type Index, type IndexChunk, indexLength } from "../format/index.ts";
import { PLAIN_ONLY, requestWindow, type Store } from "../store/store.ts";
import type { CodecPool } from "../chunk/codec_pool.ts";
import { StoreRouter } from "../store/router.ts";
import { SeedStore } from "./seed_store.ts";
import type { InvalidSeedPolicy, Seed } from "./seeds.ts";
import { zeroChunkIds } from "./extract.ts";

export interface CatOptions {
  index: Index;
  store: Store;
  /** Receives the bytes in order. */
  write: (bytes: Uint8Array) => Promise<void>;
  concurrency: number;
  offset?: number;
  /** Bytes to write from `offset`; the rest of the blob when undefined. */
  length?: number;
  signal?: AbortSignal;
  /** IDs of all-zero chunks (see zeroChunkIds): written without asking the store, as Go desync. */
  zeroIds?: ReadonlySet<string>;
}

export async function cat(options: CatOptions): Promise<number> {
  const { index, store } = options;
  const total = indexLength(index);
  const offset = options.offset ?? 0;
  if (offset > total) throw new UsageError(`--offset ${offset} is past the blob's end (${total})`);
  // Go desync fails on a range running past the end too (after writing what there is).
  if (options.length !== undefined && offset + options.length > total) {
    throw new UsageError(
      `--offset ${offset} --length ${options.length} runs past the blob's end (${total})`,
    );
  }
  const end = options.length === undefined ? total : offset + options.length;
  const wanted = chunksIn(index.chunks, offset, end);
  const controller = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, controller.signal])
    : controller.signal;
  const inFlight: Promise<Uint8Array>[] = [];
  let next = 0;
  const fetchNext = () => {
    const chunk = wanted[next++];
    const plain = options.zeroIds?.has(chunk.id)
      ? Promise.resolve({ plain: new Uint8Array(chunk.size) })
      : store.getChunk(chunk.id, signal, PLAIN_ONLY);
    const promise = plain.then(({ plain }) => {
      if (plain.length !== chunk.size) {
        // Its data hashes right: the index says another size for it.
        throw new DesyncError(
          `chunk ${chunk.id} holds ${plain.length} bytes, the index says ${chunk.size}`,
        );
      }
      return plain.subarray(
        Math.max(0, offset - chunk.start),
        Math.min(chunk.size, end - chunk.start),
      );
    });
    promise.catch(() => {}); // observed when its turn comes
    inFlight.push(promise);
  };
  let written = 0;
  try {
    const window = requestWindow(options.store, options.concurrency);
    while (next < wanted.length && inFlight.length < window) fetchNext();
    while (inFlight.length > 0) {
      const bytes = await inFlight.shift()!;
      if (next < wanted.length) fetchNext();
      await options.write(bytes);
      written += bytes.length;
    }
  } finally {
    controller.abort();
  }
  return written;
}

/** The chunks overlapping [start, end), found by binary search. */
function chunksIn(chunks: readonly IndexChunk[], start: number, end: number): IndexChunk[] {
  if (start >= end) return [];
  let low = 0;
  let high = chunks.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (chunks[mid].start + chunks[mid].size <= start) low = mid + 1;
    else high = mid;
  }
  const result: IndexChunk[] = [];
  for (let i = low; i < chunks.length && chunks[i].start < end; i++) result.push(chunks[i]);
  return result;
}

/**
 * What cat reads from: the seeds (asked first) in front of the store chain,
 * and the IDs of all-zero chunks, which are never asked for. The chain itself
 * is closed by its owner, not through the returned store.
 */
export async function catSource(
  index: Index,
  store: Store,
  seeds: readonly Seed[],
  codec: CodecPool,
  invalidSeeds: InvalidSeedPolicy,
  signal?: AbortSignal,
): Promise<{ store: Store; zeroIds: ReadonlySet<string> }> {
  const source = seeds.length === 0 ? store : new StoreRouter([
    await SeedStore.open(seeds, index, codec, invalidSeeds, signal),
    store,
  ]);
  return { store: source, zeroIds: new Set((await zeroChunkIds(index, codec)).values()) };
}
