/**
 * cat: stream a blob (or a byte range of it) in order, without seeking, to a
 * writer such as stdout. Up to `concurrency` chunks are fetched ahead; they are
 * written strictly in order, so memory holds at most that many chunks.
 */
import { DesyncError, UsageError } from "../errors.ts";
import { digestOf, type Index, type IndexChunk, indexLength } from "../format/index.ts";
import {
  type ChunkFileStore,
  isChunkFileStore,
  isStoreSequence,
  PLAIN_ONLY,
  requestWindow,
  type Store,
} from "../store/store.ts";
import type { CodecPool } from "../chunk/codec_pool.ts";
import { StoreRouter } from "../store/router.ts";
import { SeedStore } from "./seed_store.ts";
import { Semaphore } from "../util/semaphore.ts";
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
  /**
   * The codec lanes: with them, chunks the store keeps as local files are read,
   * verified and gathered there, many per message (see catFromFiles).
   */
  codec?: CodecPool;
}

/**
 * Chunks a lane reads per message, and the bytes they may hold at most (one
 * chunk at least). Runs' buffers go back to the lanes to be filled again (left
 * to the GC, 4 MiB runs raised the peak RSS of a 1 GiB cat from 100-124 to
 * 143-168 MiB). On tmpfs, cat of 206 MiB took 611 / 574 / 531 / 454 ms with
 * runs of 0.5 / 1 / 2 / 4 MiB, and untar -i of it the same at 2 and 4 MiB;
 * 2 MiB keeps the peak where cat one chunk at a time had it (105-109 MiB for
 * 1 GiB, untar -i of 20 000 files 138 MiB).
 */
const FILE_BATCH = 32;
const BATCH_BYTES = 2 << 20;
/** Batches asked ahead per lane: a lane has the next while its last reply waits to be used. */
const BATCHES_PER_LANE = 3;

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
  const files = options.codec && localFiles(store);
  if (files) {
    return await catFromFiles({ ...options, codec: options.codec!, files }, wanted, offset, end);
  }
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
    const promise = plain.then(({ plain }) =>
      sizeChecked(chunk, plain).subarray(
        Math.max(0, offset - chunk.start),
        Math.min(chunk.size, end - chunk.start),
      )
    );
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

/** The local store asked first, when that is where chunk files can be read by the lanes. */
function localFiles(store: Store): ChunkFileStore | undefined {
  const first = isStoreSequence(store) ? store.sequence[0] : store;
  return first && isChunkFileStore(first) ? first : undefined;
}

/**
 * cat from a local store: the lanes read and verify runs of consecutive chunks
 * and send each run back as one buffer, so the main thread handles a message
 * per run, not per chunk (untar -i spent as much time on those as on the
 * files it made). Whatever a lane could not put in the buffer (a chunk the
 * store lacks or holds bad, a run whose reading failed) is asked of the whole
 * store chain per chunk, -n at a time as cat asks every chunk otherwise, so it
 * arrives or fails exactly as it would there; the bytes before a failing chunk
 * are written before its error is thrown.
 */
async function catFromFiles(
  options: CatOptions & { codec: CodecPool; files: ChunkFileStore },
  wanted: readonly IndexChunk[],
  offset: number,
  end: number,
): Promise<number> {
  const { codec, files, store, zeroIds } = options;
  const controller = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, controller.signal])
    : controller.signal;
  const digests = [digestOf(options.index)];
  const runs: IndexChunk[][] = [];
  for (let i = 0; i < wanted.length;) {
    const run = [wanted[i++]];
    let bytes = run[0].size;
    while (
      i < wanted.length && run.length < FILE_BATCH && bytes + wanted[i].size <= BATCH_BYTES
    ) {
      bytes += wanted[i].size;
      run.push(wanted[i++]);
    }
    runs.push(run);
  }
  const requests = new Semaphore(requestWindow(store, options.concurrency));
  const fromChain = (chunk: IndexChunk): Promise<Uint8Array> => {
    const plain = (async () => {
      await requests.acquire(signal);
      try {
        return sizeChecked(chunk, (await store.getChunk(chunk.id, signal, PLAIN_ONLY)).plain);
      } finally {
        requests.release();
      }
    })();
    plain.catch(() => {}); // observed when its turn comes
    return plain;
  };
  const gather = (run: IndexChunk[]) => {
    const base = run[0].start;
    const last = run[run.length - 1];
    const length = last.start + last.size - base;
    // All-zero chunks are left out: the buffer comes back zeroed where no item is.
    const chunks = run.filter((chunk) => !zeroIds?.has(chunk.id));
    const items = chunks.map((chunk) => ({
      path: files.chunkPath(chunk.id),
      id: chunk.id,
      size: chunk.size,
      offsets: [chunk.start - base],
    }));
    const ask = (chunk: IndexChunk) => ({ chunk, plain: fromChain(chunk) });
    // A buffer given back is filled again: new ones, left to the GC, raised the peak by 50 MiB.
    const into = length <= BATCH_BYTES ? spare.pop() ?? new ArrayBuffer(BATCH_BYTES) : undefined;
    return codec.gatherFiles(items, digests, length, into).then(
      ({ data, outcomes }) => ({ data, asked: chunks.filter((_, k) => !outcomes[k].ok).map(ask) }),
      // A lane's error (a FIFO or directory under a chunk's name, an I/O error) ends
      // the whole batch: its chunks are asked one by one, to fail where one fails.
      () => ({ data: new Uint8Array(length), asked: chunks.map(ask) }),
    );
  };
  const spare: ArrayBuffer[] = [];
  const inFlight: ReturnType<typeof gather>[] = [];
  let next = 0;
  let written = 0;
  try {
    const window = BATCHES_PER_LANE * codec.size;
    while (next < runs.length && inFlight.length < window) inFlight.push(gather(runs[next++]));
    for (const run of runs) {
      signal.throwIfAborted();
      const gathered = inFlight.shift()!;
      if (next < runs.length) inFlight.push(gather(runs[next++]));
      const { data, asked } = await gathered;
      const base = run[0].start;
      // Writes the run's bytes up to `until` (a blob offset) that lie in [offset, end).
      let done = Math.max(base, offset);
      const writeUntil = async (until: number) => {
        const stop = Math.min(until, end);
        if (stop <= done) return;
        await options.write(data.subarray(done - base, stop - base));
        written += stop - done;
        done = stop;
      };
      for (const { chunk, plain } of asked) {
        await writeUntil(chunk.start);
        data.set(await plain, chunk.start - base);
      }
      await writeUntil(base + data.length);
      if (data.buffer.byteLength === BATCH_BYTES) spare.push(data.buffer as ArrayBuffer);
    }
  } finally {
    controller.abort();
  }
  return written;
}

/** A chunk's verified data, if it is as long as the index says. */
function sizeChecked(chunk: IndexChunk, plain: Uint8Array): Uint8Array {
  if (plain.length !== chunk.size) {
    // Its data hashes right: the index says another size for it.
    throw new DesyncError(
      `chunk ${chunk.id} holds ${plain.length} bytes, the index says ${chunk.size}`,
    );
  }
  return plain;
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
