/**
 * A pool of Workers that decompress, compress, hash and place chunks, so both
 * cores work while the main thread only schedules. `place` does a whole extract
 * step (read a chunk file, decode, verify, write at offsets) inside a worker,
 * with synchronous I/O on the worker's own file handles.
 */
import type { ChunkId } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";
import { ChunkDataError, MISSING } from "./errors.ts";
import { checkWorkersMayLoad, WorkerStartError } from "./worker_start.ts";
import { InlineLane } from "./inline_lane.ts";
import type { ChunkerParams } from "./chunker.ts";
import type { HttpOptions } from "../util/http_client.ts";
import type { TreeFileFailure, TreeFilesJob } from "./tree_files.ts";

export type CodecRequest =
  | {
    seq: number;
    op: "decode";
    data: Uint8Array;
    id: ChunkId;
    /** Accepted digests, tried in order (verify accepts either kind of store). */
    digests: readonly Digest[];
    compressed: boolean;
    /** Send the input buffer back too (to pass compressed data on to a cache). */
    keepInput: boolean;
  }
  | { seq: number; op: "encode" | "hash"; data: Uint8Array; digest: Digest }
  | {
    seq: number;
    op: "place";
    data: Uint8Array;
    output: string;
    offsets: readonly number[];
  }
  | { seq: number; op: "close-files" }
  | {
    seq: number;
    op: "place-files";
    items: readonly PlaceFileItem[];
    digests: readonly Digest[];
    /** Where to write; undefined to only read and verify the chunk files. */
    output?: string;
    /** Refresh the mtime of each chunk file used (a cache hit). */
    touch?: boolean;
    /** Also store each verified chunk into this local store directory (cache fills). */
    copyTo?: string;
    /**
     * Send the chunks' plain data back in one buffer of this many bytes, each
     * item's at its first offset (cat's run of consecutive chunks).
     */
    gather?: number;
    /** A buffer to gather into when it is large enough (one given back before). */
    into?: ArrayBuffer;
  }
  | ({ seq: number; op: "read-chunk" } & ReadChunkJob)
  | ({ seq: number; op: "piece" } & PieceJob)
  | ({ seq: number; op: "pieces"; stop?: Int32Array } & PiecesJob)
  | ({ seq: number; op: "seed-copy" } & SeedCopyJob)
  | ({ seq: number; op: "tree-files"; stop?: Int32Array } & TreeFilesJob)
  | ({ seq: number; op: "fetch-place"; stop?: Int32Array } & FetchPlaceJob)
  | {
    seq: number;
    op: "place-frames";
    items: readonly FrameItem[];
    digests: readonly Digest[];
    output: string;
  }
  | {
    seq: number;
    op: "cuts";
    path: string;
    /** The blob's size (a block device's stat does not tell it). */
    size: number;
    start: number;
    limit: number;
    params: ChunkerParams;
  };

export type CodecReply =
  | {
    seq: number;
    ok: true;
    data?: Uint8Array;
    input?: Uint8Array;
    id?: ChunkId;
    cuts?: Float64Array;
    /** For "place-files": per item, null when placed, else "missing" or the data error. */
    outcomes?: (string | null)[];
    /** For "seed-copy": per item, the ID its bytes hash to, or null when the file ends first. */
    hashes?: (ChunkId | null)[];
    /** For "fetch-place": per item, null when placed, else what went wrong. */
    fetched?: (FetchProblem | null)[];
    /** For "pieces": the IDs as bytes, CHUNK_ID_SIZE each. */
    ids?: Uint8Array;
    /** For "pieces": per piece, the bytes of the chunk file written (0: it was there). */
    sizes?: Uint32Array;
    /** For "pieces" with `expect`: the first piece that hashed to another ID. */
    mismatch?: number;
    /** For "tree-files": the file that could not be made, if one could not. */
    failure?: TreeFileFailure;
  }
  | { seq: number; ok: false; kind: "data" | "other"; message: string };

type Success = CodecReply & { ok: true };

interface Pending {
  resolve(reply: Success): void;
  reject(error: unknown): void;
  lane: number;
}

export interface EncodedChunk {
  id: ChunkId;
  /** zstd-compressed chunk data. */
  compressed: Uint8Array;
}

/** One chunk of a `placeFiles` batch: read from `path`, written at `offsets`. */
export interface PlaceFileItem {
  path: string;
  id: ChunkId;
  size: number;
  offsets: readonly number[];
}

/** What became of one item of a batch. */
export type PlaceOutcome = { ok: true } | { ok: false; missing: true } | {
  ok: false;
  missing: false;
  error: ChunkDataError;
};

/** Plain chunk data, already verified, to write at `offsets` of `output`. */
export interface PlaceJob {
  data: Uint8Array;
  output: string;
  offsets: readonly number[];
}

/** A piece of a file to hash, and to compress or store. */
export interface PieceJob {
  path: string;
  offset: number;
  size: number;
  digest: Digest;
  /** What to do besides hashing: return the compressed bytes ("encode"). */
  mode: "hash" | "encode";
  /** The ID the piece must hash to; a mismatch is a ChunkDataError and nothing is returned. */
  expect?: ChunkId;
}

export interface PieceResult {
  id: ChunkId;
  /** For mode "encode": the zstd frame. */
  compressed?: Uint8Array;
}

/** A local store's chunk file, read, decoded and verified in a lane (see CodecPool.readChunk). */
export interface ReadChunkJob {
  /** The `.cacnk` path; the uncompressed `<id>` beside it is read when it is missing. */
  path: string;
  id: ChunkId;
  digests: readonly Digest[];
  /** A larger file is no chunk, and is not read. */
  maxBytes: number;
  /** Only the plain data is sent back, not the zstd frame too. */
  plainOnly?: boolean;
}

/** What readChunk found: the chunk, MISSING, or why the file is not the chunk. */
export type ReadChunkResult =
  | { plain: Uint8Array; zstd?: Uint8Array }
  | typeof MISSING
  | { invalid: string };

/**
 * Consecutive pieces of a file, hashed (and stored) as PieceJob does each, in
 * one message: per-piece messages, their promises and ID strings made most of
 * make's main-thread garbage, and its heap grew with the blob.
 */
export interface PiecesJob {
  /** The file the pieces are read from, unless `data` holds them. */
  path?: string;
  /**
   * The pieces' bytes from `start` on (a stream being chunked): its whole
   * buffer moves to the lane and is sent back with the result.
   */
  data?: Uint8Array;
  /** Where the first piece starts. */
  start: number;
  /** Where each piece ends (each starts where the one before ends). */
  ends: Float64Array;
  digest: Digest;
  mode: "hash" | "store";
  /** The local store directory, for mode "store". */
  storeDir?: string;
  /**
   * The IDs the pieces must hash to: the job ends at the first that does not,
   * storing nothing of it.
   */
  expect?: readonly ChunkId[];
}

export interface PiecesResult {
  /** The pieces' IDs as bytes, CHUNK_ID_SIZE each. */
  ids: Uint8Array;
  /** Per piece, the size of the chunk file written, or 0 when it was there (or not stored). */
  written: Uint32Array;
  /** The job's `data`, given back (its whole buffer) to be filled again. */
  data?: Uint8Array;
  /** With `expect`: the first piece that hashed to another ID (its own is in `ids`). */
  mismatch?: number;
}

/** One chunk-sized range of a seed file (or of the output itself, for in-place checks). */
export interface SeedItem {
  /** Where the range starts in the seed file. */
  at: number;
  size: number;
  /** The ID the range must hash to; absent when the job looks the hash up in `wanted`. */
  id?: ChunkId;
  /** Where to write the range in the output when it hashes to `id`. */
  offsets?: readonly number[];
}

/**
 * Read ranges of a seed file, hash each, and copy the ones that are wanted into
 * the output. Every byte written is hashed from the very buffer it is written
 * from, so a seed that changes while it is read can never put wrong bytes in
 * the output. Adjacent ranges are read, and written, as one.
 */
export interface SeedCopyJob {
  path: string;
  /** Sorted by `at`. */
  items: readonly SeedItem[];
  digest: Digest;
  /** Where to write; undefined to only hash (in-place checks, indexing a seed). */
  output?: string;
  /** For items without an `id`: the chunks worth copying, with their sizes and output offsets. */
  wanted?: readonly { id: ChunkId; size: number; offsets: readonly number[] }[];
}

/** A chunk as a store sent it, to be decoded, verified and written at `offsets`. */
export interface FrameItem {
  id: ChunkId;
  size: number;
  offsets: readonly number[];
  data: Uint8Array;
  compressed: boolean;
}

/**
 * GET chunks over HTTP inside a worker, verify them and write them at their
 * offsets: for remote stores the main thread then only hands out batches.
 */
export interface FetchPlaceJob {
  /** The store's HTTP settings (timeouts, retries, TLS, Authorization). */
  http: HttpOptions;
  maxBytes: number;
  /** Whether the bodies are zstd frames (else plain chunk data). */
  compressed: boolean;
  items: readonly { url: string; id: ChunkId; size: number; offsets: readonly number[] }[];
  digests: readonly Digest[];
  /** Where the chunks' plain data goes, at their offsets. */
  output?: string;
  /**
   * A local store directory the chunks are stored into instead (zstd `.cacnk`
   * files, the frame as fetched when it is one): cache, in bounded memory.
   */
  storeDir?: string;
  /** Requests in flight at once within the job. */
  concurrency: number;
}

/**
 * Why a fetched chunk was not placed: missing (404), bad data, a failed
 * request, or not tried (skipped) because another in its batch failed first.
 */
export type FetchProblem =
  | { kind: "missing" }
  | { kind: "skipped" }
  | { kind: "data"; message: string }
  | { kind: "request"; message: string; status?: number };

/** Where jobs run: a worker, or the calling thread (InlineLane). */
interface Lane {
  postMessage(request: CodecRequest, transfer: ArrayBuffer[]): void;
  terminate(): void;
}

/** Runs codec jobs on `size` lanes; jobs go to the lane with the fewest queued. */
export class CodecPool {
  readonly #lanes: Lane[] = [];
  /** Whether lane 0 runs on this thread. */
  readonly #inline: boolean;
  readonly #load: number[] = [];
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #closed = false;
  /** Why no job can run any more: a worker died or the command was stopped. */
  #broken: unknown;
  /**
   * Set (to 1) once no job can run any more: a "pieces" job that sees it
   * stops before its next piece, so a stopped make is not kept waiting for
   * the megabytes of pieces its lanes still hold.
   */
  readonly #stopFlag = new Int32Array(new SharedArrayBuffer(4));
  /**
   * The jobs that write into a store or a tree (writesFiles) and have not replied, even
   * if their callers were failed, by lane: a lane ended mid-write leaves a
   * temporary chunk file in the store (see stop).
   */
  readonly #writing = new Map<number, number>();
  /** Called when #writing empties. */
  readonly #writtenWaiters: (() => void)[] = [];

  /**
   * Starts `size` lanes: workers, except that with `inline` the first lane runs
   * on this thread (see InlineLane: for commands whose main thread mostly waits).
   * Throws WorkerStartError when Deno will not let the workers load; a worker
   * that dies later fails every job, queued or future. When `signal` aborts,
   * pending jobs reject with its reason instead of being waited for.
   */
  constructor(
    size = defaultCodecWorkers(),
    options: { signal?: AbortSignal; inline?: boolean } = {},
  ) {
    this.#inline = options.inline === true;
    const workers = Math.max(1, size) - (options.inline ? 1 : 0);
    if (workers > 0) checkWorkersMayLoad();
    if (options.inline) {
      this.#lanes.push(new InlineLane((reply) => this.#settle(reply)));
      this.#load.push(0);
    }
    for (let i = 0; i < workers; i++) {
      const worker = new Worker(new URL("./codec_worker.ts", import.meta.url), { type: "module" });
      worker.onmessage = (event: MessageEvent<CodecReply>) => this.#settle(event.data);
      const lane = this.#lanes.length;
      worker.onerror = (event) => {
        event.preventDefault();
        // A dead lane answers nothing: stop must not wait for its writes.
        for (const [seq, at] of this.#writing) if (at === lane) this.#wrote(seq);
        this.#failAll(new WorkerStartError(`a codec worker died: ${event.message}`));
      };
      this.#lanes.push(worker);
      this.#load.push(0);
    }
    if (options.signal) this.observe(options.signal);
  }

  /** Fails every pending and later job with the signal's reason when it aborts. */
  observe(signal: AbortSignal): void {
    if (signal.aborted) this.#failAll(signal.reason);
    else signal.addEventListener("abort", () => this.#failAll(signal.reason), { once: true });
  }

  get size(): number {
    return this.#lanes.length;
  }

  /**
   * Decompresses (when `compressed`) and verifies chunk data. The input buffer is
   * transferred to the worker when it owns it: callers must not use it afterwards.
   */
  async decode(
    data: Uint8Array,
    id: ChunkId,
    digests: readonly Digest[],
    options: { compressed?: boolean; keepInput?: boolean } = {},
  ): Promise<{ plain: Uint8Array; input?: Uint8Array }> {
    const { compressed = true, keepInput = false } = options;
    const request = { seq: 0, op: "decode", data, id, digests, compressed, keepInput } as const;
    const reply = await this.#run(request, transferable(data));
    return { plain: reply.data!, input: reply.input };
  }

  /**
   * Reads a local store's chunk file in a lane, decodes and verifies it: the
   * plain data, and the file's bytes when they are a zstd frame (for caches).
   * The main thread does no file I/O for it (four async operations a chunk, the
   * better part of untar -i's time on its own thread).
   */
  async readChunk(job: ReadChunkJob): Promise<ReadChunkResult> {
    const reply = await this.#run({ seq: 0, op: "read-chunk", ...job });
    if (reply.outcomes?.[0] === MISSING) return MISSING;
    if (typeof reply.outcomes?.[0] === "string") return { invalid: reply.outcomes[0] };
    return { plain: reply.data!, zstd: reply.input };
  }

  /** Hashes and compresses plain data; `plain` stays usable by the caller. */
  async encode(plain: Uint8Array, digest: Digest): Promise<EncodedChunk> {
    const reply = await this.#run({ seq: 0, op: "encode", data: plain, digest });
    return { id: reply.id!, compressed: reply.data! };
  }

  /** Hashes plain data; `plain` stays usable by the caller. */
  async hash(plain: Uint8Array, digest: Digest): Promise<ChunkId> {
    const reply = await this.#run({ seq: 0, op: "hash", data: plain, digest });
    return reply.id!;
  }

  /**
   * `hash`, in a worker when the pool has one: a lane on this thread would load
   * the hash (and Node's compatibility layer, 10–15 ms) before this thread has
   * handed out any work, and the workers would wait for it. `plain` is moved
   * to the worker when it owns its whole buffer: callers must not use it
   * afterwards. (A copy of a large chunk of zeros, up to the 1 GiB an index
   * may allow, would be real memory twice over where the zeros take none.)
   */
  async hashInWorker(plain: Uint8Array, digest: Digest): Promise<ChunkId> {
    const lane = this.#inline && this.#lanes.length > 1 ? 1 : 0;
    const request = { seq: 0, op: "hash", data: plain, digest } as const;
    const reply = await this.#run(request, transferable(plain), lane);
    return reply.id!;
  }

  /** Writes verified plain data at `offsets` of `output`, in a worker. */
  async place(job: PlaceJob): Promise<void> {
    await this.#run({ seq: 0, op: "place", ...job }, transferable(job.data));
  }

  /** Reads a piece of a file in a worker and hashes it (and compresses or stores it). */
  async piece(job: PieceJob): Promise<PieceResult> {
    const reply = await this.#run({ seq: 0, op: "piece", ...job });
    return { id: reply.id!, compressed: reply.data };
  }

  /** Reads consecutive pieces of a file (or takes them) in a lane and hashes (and stores) each. */
  async pieces(job: PiecesJob): Promise<PiecesResult> {
    const request = { seq: 0, op: "pieces", ...job, stop: this.#stopFlag } as const;
    // `data`'s whole buffer moves to the lane, and comes back with the reply.
    const moved = [
      ...transferable(job.ends),
      ...(job.data ? [job.data.buffer as ArrayBuffer] : []),
    ];
    const reply = await this.#run(request, moved);
    return { ids: reply.ids!, written: reply.sizes!, data: reply.data, mismatch: reply.mismatch };
  }

  /**
   * Makes a batch of new files in a lane (see tree_files.ts); their bytes'
   * buffer moves there and comes back, to be filled again.
   */
  async writeTreeFiles(
    job: TreeFilesJob,
  ): Promise<{ data: Uint8Array; failure?: TreeFileFailure }> {
    const request = { seq: 0, op: "tree-files", ...job, stop: this.#stopFlag } as const;
    const reply = await this.#run(request, [job.data.buffer as ArrayBuffer]);
    return { data: reply.data!, failure: reply.failure };
  }

  /**
   * Hashes ranges of a seed file and copies those that are wanted into the
   * output; returns each range's hash (null where the file ended before it).
   */
  async seedCopy(job: SeedCopyJob): Promise<(ChunkId | null)[]> {
    const reply = await this.#run({ seq: 0, op: "seed-copy", ...job });
    return reply.hashes!;
  }

  /**
   * `place` for many chunks from a remote store in one message (per-chunk
   * messages cost the main thread more than the chunks). A bad chunk does not
   * stop the batch: per item, null when placed, else the data error. Buffers
   * are moved to the worker where `owned` says they may be.
   */
  async placeFrames(
    items: readonly FrameItem[],
    owned: readonly boolean[],
    digests: readonly Digest[],
    output: string,
  ): Promise<PlaceOutcome[]> {
    const transfer = new Set<ArrayBuffer>();
    items.forEach((item, i) => {
      for (const buffer of owned[i] ? [item.data.buffer as ArrayBuffer] : transferable(item.data)) {
        transfer.add(buffer);
      }
    });
    const request = { seq: 0, op: "place-frames", items, digests, output } as const;
    const reply = await this.#run(request, [...transfer]);
    return reply.outcomes!.map(toOutcome);
  }

  /** Fetches, verifies and writes a batch of chunks in a worker (see FetchPlaceJob). */
  async fetchPlace(job: FetchPlaceJob): Promise<(FetchProblem | null)[]> {
    const reply = await this.#run({ seq: 0, op: "fetch-place", ...job, stop: this.#stopFlag });
    return reply.fetched!;
  }

  /**
   * The chunker's cuts (absolute end offsets) in the file at `path`, starting at
   * `start` (a cut or a guess) and stopping at the first cut at or past `limit`.
   */
  async cuts(
    path: string,
    size: number,
    start: number,
    limit: number,
    params: ChunkerParams,
  ): Promise<number[]> {
    const reply = await this.#run({ seq: 0, op: "cuts", path, size, start, limit, params });
    return Array.from(reply.cuts!);
  }

  /**
   * `place` for a batch of chunk files in one message: far fewer round trips
   * for local stores, where a chunk takes only microseconds. A missing or bad
   * chunk does not stop the batch; each item's outcome is reported.
   */
  async placeFiles(
    items: readonly PlaceFileItem[],
    digests: readonly Digest[],
    output: string,
    touch = false,
  ): Promise<PlaceOutcome[]> {
    const reply = await this.#run({ seq: 0, op: "place-files", items, digests, output, touch });
    return reply.outcomes!.map(toOutcome);
  }

  /**
   * Reads and verifies a batch of chunk files and sends their plain data back
   * in one buffer of `length` bytes (`into`, moved to the lane and back, when it
   * is large enough), each item's at its first offset; what no item covers is
   * zeros. Each item's outcome is reported as for `placeFiles` (its bytes are in
   * the buffer only when it is ok).
   */
  async gatherFiles(
    items: readonly PlaceFileItem[],
    digests: readonly Digest[],
    length: number,
    into?: ArrayBuffer,
  ): Promise<{ data: Uint8Array; outcomes: PlaceOutcome[] }> {
    const request = { seq: 0, op: "place-files", items, digests, gather: length, into } as const;
    // Asked one run at a time as the caller writes them, in order (see #leastLoaded).
    const reply = await this.#run(request, into ? [into] : [], this.#leastLoaded(true));
    return { data: reply.data!, outcomes: reply.outcomes!.map(toOutcome) };
  }

  /**
   * Reads and verifies a batch of chunk files in a worker without returning
   * their data (verify). Each item's outcome is reported as for `placeFiles`.
   */
  async checkFiles(
    items: readonly { path: string; id: ChunkId }[],
    digests: readonly Digest[],
  ): Promise<PlaceOutcome[]> {
    const placeItems = items.map((item) => ({ ...item, size: 0, offsets: [] }));
    const reply = await this.#run({ seq: 0, op: "place-files", items: placeItems, digests });
    return reply.outcomes!.map(toOutcome);
  }

  /**
   * Reads and verifies a batch of chunk files and stores each one into the
   * local store directory `storeDir` (unless it is there already).
   */
  async copyFiles(
    items: readonly { path: string; id: ChunkId }[],
    digests: readonly Digest[],
    storeDir: string,
  ): Promise<PlaceOutcome[]> {
    const placeItems = items.map((item) => ({ ...item, size: 0, offsets: [] }));
    const reply = await this.#run({
      seq: 0,
      op: "place-files",
      items: placeItems,
      digests,
      copyTo: storeDir,
    });
    return reply.outcomes!.map(toOutcome);
  }

  /** Closes the output files the lanes hold open for `place`. */
  async closeFiles(): Promise<void> {
    await Promise.all(
      this.#lanes.map((_, lane) => this.#run({ seq: 0, op: "close-files" }, [], lane)),
    );
  }

  /**
   * close, once the lanes have finished the store writes they were given (a
   * "pieces" job stops at its next piece), or after `waitMs` at most. close
   * alone terminates a worker wherever it is, and exiting the process does
   * too: between a chunk's write and its rename that leaves a temporary file
   * in the store.
   */
  async stop(waitMs = 2_000): Promise<void> {
    Atomics.store(this.#stopFlag, 0, 1);
    await this.writesDone(waitMs);
    this.close();
  }

  /**
   * Resolves once the lanes have answered every job that writes files (see
   * writesFiles), those whose callers were failed too, or after `waitMs`: a
   * caller that removes what such jobs write must not race them.
   */
  async writesDone(waitMs = 2_000): Promise<void> {
    if (this.#closed || this.#writing.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.#writtenWaiters.push(resolve)),
      new Promise<void>((resolve) => timer = setTimeout(resolve, waitMs)),
    ]);
    clearTimeout(timer);
  }

  close(): void {
    if (this.#closed) return;
    Atomics.store(this.#stopFlag, 0, 1);
    this.#closed = true;
    for (const lane of this.#lanes) lane.terminate();
    this.#failAll(new Error("codec pool closed"));
  }

  #run(request: CodecRequest, transfer: ArrayBuffer[] = [], lane = this.#leastLoaded()) {
    if (this.#closed) return Promise.reject(new Error("codec pool closed"));
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    const seq = ++this.#seq;
    request.seq = seq;
    this.#load[lane]++;
    if (writesFiles(request)) this.#writing.set(seq, lane);
    return new Promise<Success>((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject, lane });
      this.#lanes[lane].postMessage(request, transfer);
    });
  }

  /**
   * The lane with the fewest jobs given out; on a tie the inline lane, unless
   * `tieToWorker`. A worker's count drops only once its reply is handled here,
   * the inline lane's as this thread runs its jobs: a caller that asks for one
   * job as it takes each answer in order (cat's runs) gave most to this thread
   * and left the worker idle (256 MiB: 115 of 141 runs ran inline, 0.58 s
   * against 0.40 s, in 18 runs of 25). Ties to a worker everywhere cost memory
   * instead: SSH extract peaked at 102-108 MiB, not 93-96, with the worker
   * holding more of the chunks.
   */
  #leastLoaded(tieToWorker = false): number {
    let lane = 0;
    for (let i = 1; i < this.#load.length; i++) {
      if (this.#load[i] < this.#load[lane] || (tieToWorker && this.#load[i] === this.#load[lane])) {
        lane = i;
      }
    }
    return lane;
  }

  #wrote(seq: number) {
    if (this.#writing.delete(seq) && this.#writing.size === 0) {
      for (const resolve of this.#writtenWaiters.splice(0)) resolve();
    }
  }

  #settle(reply: CodecReply) {
    this.#wrote(reply.seq);
    const pending = this.#pending.get(reply.seq);
    if (!pending) return;
    this.#pending.delete(reply.seq);
    this.#load[pending.lane]--;
    if (reply.ok) pending.resolve(reply);
    else if (reply.kind === "data") pending.reject(new ChunkDataError(reply.message));
    else pending.reject(new Error(reply.message));
  }

  #failAll(error: unknown) {
    this.#broken ??= error;
    Atomics.store(this.#stopFlag, 0, 1);
    for (const [seq, pending] of this.#pending) {
      this.#pending.delete(seq);
      pending.reject(error);
    }
  }
}

export { MISSING };

function toOutcome(outcome: string | null): PlaceOutcome {
  if (outcome === null) return { ok: true };
  if (outcome === MISSING) return { ok: false, missing: true };
  return { ok: false, missing: false, error: new ChunkDataError(outcome) };
}

/**
 * Whether a job writes chunk files into a store, or files into a tree (stop
 * waits for those, see CodecPool.stop).
 */
function writesFiles(request: CodecRequest): boolean {
  switch (request.op) {
    case "tree-files":
      return true;
    case "pieces":
      return request.mode === "store";
    case "place-files":
      return request.copyTo !== undefined;
    case "fetch-place":
      return request.storeDir !== undefined;
    default:
      return false;
  }
}

/** A buffer can be moved (not copied) to a worker only when the view spans all of it. */
function transferable(data: ArrayBufferView): ArrayBuffer[] {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
    ? [data.buffer as ArrayBuffer]
    : [];
}

export function defaultCodecWorkers(): number {
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 8));
}
