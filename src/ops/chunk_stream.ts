/**
 * Chunks a byte stream as `casync make` chunks a file, for data that is made on
 * the fly (an archive being written by tar -i): bytes are buffered until a cut
 * is certain, each chunk is hashed and compressed by a codec worker and stored,
 * at most `concurrency` at once. Memory holds the buffer (a few times the
 * maximum chunk size) and the chunks in flight, whatever the stream's length,
 * and per chunk only its index item and a slot of the set of distinct IDs.
 */
import { type ChunkerParams, nextCut } from "../chunk/chunker.ts";
import type { CodecPool } from "../chunk/codec_pool.ts";
import { CHUNK_ID_SIZE } from "../format/chunk_id.ts";
import { ChunkIdSet, type Digest, IndexTable } from "../format/index.ts";
import { workerStoreDir, type WriteStore } from "../store/store.ts";
import { TaskGroup } from "../util/tasks.ts";
import type { MakeStats } from "./make.ts";

export interface StreamChunkerOptions {
  /** Where to store chunks; undefined to only hash them. */
  store?: WriteStore;
  codec: CodecPool;
  params: ChunkerParams;
  digest: Digest;
  concurrency: number;
  signal?: AbortSignal;
}

/**
 * Chunks handed to a lane in one message, and the bytes they may hold (a chunk
 * at least): a message per chunk cost the main thread, which also walks the
 * tree and encodes the archive, more than cutting the chunks.
 */
const BATCH_CHUNKS = 32;
const BATCH_BYTES = 2 << 20;
const BATCHES_PER_LANE = 2;

export class StreamChunker {
  readonly #options: StreamChunkerOptions;
  readonly #group: TaskGroup;
  /** A local store of `.cacnk` files, which the workers check and write themselves. */
  readonly #storeDir: string | undefined;
  #buffer: Uint8Array;
  /** The current chunk starts at #buffer[#start]; bytes up to #end are filled. */
  #start = 0;
  #end = 0;
  /** Stream offset of #buffer[#start]. */
  #position = 0;
  /**
   * Chunks cut but not yet handed to a lane, when lanes store or hash them in
   * batches: their stream end offsets; they are the #pendingBytes before #start.
   */
  #pendingEnds: number[] = [];
  #pendingBytes = 0;
  readonly #batched: boolean;
  /** Batch buffers the lanes gave back, to be filled again. */
  readonly #spare: Uint8Array[] = [];
  /** The chunks cut: end offsets at once, IDs as their lanes hash them. */
  readonly #table = new IndexTable();
  /** The IDs hashed; those marked were stored by us (counted once however often they come). */
  readonly #ids = new ChunkIdSet(this.#table);
  readonly #stats: MakeStats = {
    chunks: 0,
    uniqueChunks: 0,
    storedChunks: 0,
    bytesIn: 0,
    bytesStored: 0,
  };

  constructor(options: StreamChunkerOptions) {
    this.#options = options;
    this.#storeDir = workerStoreDir(options.store);
    this.#batched = !options.store || this.#storeDir !== undefined;
    // Batches are large: one running and one waiting per lane keep every lane busy.
    const limit = this.#batched
      ? Math.min(options.concurrency, BATCHES_PER_LANE * options.codec.size)
      : options.concurrency;
    this.#group = new TaskGroup(limit, options.signal);
    this.#buffer = new Uint8Array(Math.max(4 * options.params.max, 4 << 20));
  }

  /** Takes the next bytes of the stream (copied: the caller may reuse `bytes`). */
  async write(bytes: Uint8Array): Promise<void> {
    const max = this.#options.params.max;
    let pos = 0;
    while (pos < bytes.length) {
      if (this.#end === this.#buffer.length) {
        await this.#flush(); // what is cut is copied out before the rest moves
        this.#buffer.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      const take = Math.min(bytes.length - pos, this.#buffer.length - this.#end);
      this.#buffer.set(bytes.subarray(pos, pos + take), this.#end);
      this.#end += take;
      pos += take;
      // Only cut once a whole maximum-size window is there: the cut is then
      // certain, and every byte is scanned once however small the writes.
      while (this.#end - this.#start >= max) await this.#cut(false);
    }
    this.#stats.bytesIn += bytes.length;
  }

  /** Cuts the rest, waits for every chunk to be stored; returns the index's table. */
  async finish(): Promise<{ table: IndexTable; stats: MakeStats }> {
    while (this.#end > this.#start) await this.#cut(true);
    await this.#flush();
    await this.#group.wait();
    this.#stats.chunks = this.#table.count;
    this.#stats.uniqueChunks = this.#ids.size;
    return { table: this.#table, stats: this.#stats };
  }

  async #cut(final: boolean) {
    const size = nextCut(this.#buffer, this.#start, this.#end, this.#options.params, final);
    const index = this.#table.push(this.#position + size);
    if (this.#batched) {
      this.#start += size;
      this.#position += size;
      this.#pendingEnds.push(this.#position);
      this.#pendingBytes += size;
      if (this.#pendingEnds.length >= BATCH_CHUNKS || this.#pendingBytes >= BATCH_BYTES) {
        await this.#flush();
      }
      return;
    }
    const data = this.#buffer.slice(this.#start, this.#start + size);
    this.#start += size;
    this.#position += size;
    const { store, codec, digest } = this.#options;
    await this.#group.spawn(async (signal) => {
      const { id, compressed } = await codec.encode(data, digest);
      this.#table.setId(index, id);
      if (!this.#ids.add(index)) return; // stored, or being stored, for an earlier chunk
      await store!.storeChunk({ id, compressed }, signal);
      this.#stats.storedChunks++;
      this.#stats.bytesStored += compressed.length;
    });
  }

  /**
   * Hands the chunks cut since the last batch to a lane, which hashes them and,
   * for a local store of `.cacnk` files, compresses and writes those it lacks.
   * Their bytes are copied into a batch buffer, which moves to the lane and back.
   */
  async #flush() {
    const count = this.#pendingEnds.length;
    if (count === 0) return;
    const bytes = this.#pendingBytes;
    // A batch ends once it reaches BATCH_BYTES: with the chunk that went past it, it fits
    // this, unless chunks are huge (then the buffer is made to measure and not kept).
    const capacity = BATCH_BYTES + Math.min(this.#options.params.max, BATCH_BYTES);
    const buffer = bytes <= capacity
      ? this.#spare.pop() ?? new Uint8Array(capacity)
      : new Uint8Array(bytes);
    const data = buffer.subarray(0, bytes);
    data.set(this.#buffer.subarray(this.#start - bytes, this.#start));
    const ends = Float64Array.from(this.#pendingEnds);
    const start = this.#position - this.#pendingBytes;
    const first = this.#table.count - count;
    this.#pendingEnds = [];
    this.#pendingBytes = 0;
    const { codec, digest } = this.#options;
    const storeDir = this.#storeDir;
    const mode = storeDir === undefined ? "hash" : "store";
    await this.#group.spawn(async () => {
      const done = await codec.pieces({ data, start, ends, digest, mode, storeDir });
      if (done.data?.buffer.byteLength === capacity) {
        this.#spare.push(new Uint8Array(done.data.buffer));
      }
      for (let k = 0; k < count; k++) {
        this.#table.setId(first + k, done.ids, k * CHUNK_ID_SIZE);
        this.#ids.add(first + k);
        // Two lanes may both write a chunk neither found: it is counted once.
        if (done.written[k] > 0 && this.#ids.mark(first + k)) {
          this.#stats.storedChunks++;
          this.#stats.bytesStored += done.written[k];
        }
      }
    });
  }
}
