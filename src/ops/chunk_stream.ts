/**
 * Chunks a byte stream as `casync make` chunks a file, for data that is made on
 * the fly (an archive being written by tar -i): bytes are buffered until a cut
 * is certain, each chunk is hashed and compressed by a codec worker and stored,
 * at most `concurrency` at once. Memory holds the buffer (a few times the
 * maximum chunk size) and the chunks in flight, whatever the stream's length.
 */
import { type ChunkerParams, nextCut } from "../chunk/chunker.ts";
import type { CodecPool } from "../chunk/codec_pool.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { Digest, IndexChunk } from "../format/index.ts";
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
  readonly #spans: { start: number; size: number }[] = [];
  readonly #ids: ChunkId[] = [];
  readonly #stored = new Set<ChunkId>();
  readonly #stats: MakeStats = {
    chunks: 0,
    uniqueChunks: 0,
    storedChunks: 0,
    bytesIn: 0,
    bytesStored: 0,
  };

  constructor(options: StreamChunkerOptions) {
    this.#options = options;
    this.#group = new TaskGroup(options.concurrency, options.signal);
    this.#storeDir = workerStoreDir(options.store);
    this.#buffer = new Uint8Array(Math.max(4 * options.params.max, 4 << 20));
  }

  /** Takes the next bytes of the stream (copied: the caller may reuse `bytes`). */
  async write(bytes: Uint8Array): Promise<void> {
    const max = this.#options.params.max;
    let pos = 0;
    while (pos < bytes.length) {
      if (this.#end === this.#buffer.length) {
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

  /** Cuts the rest, waits for every chunk to be stored; returns the chunks in order. */
  async finish(): Promise<{ chunks: IndexChunk[]; stats: MakeStats }> {
    while (this.#end > this.#start) await this.#cut(true);
    await this.#group.wait();
    const chunks = this.#spans.map((span, i): IndexChunk => ({ id: this.#ids[i], ...span }));
    this.#stats.chunks = chunks.length;
    this.#stats.uniqueChunks = new Set(this.#ids).size;
    return { chunks, stats: this.#stats };
  }

  async #cut(final: boolean) {
    const size = nextCut(this.#buffer, this.#start, this.#end, this.#options.params, final);
    const data = this.#buffer.slice(this.#start, this.#start + size);
    const index = this.#spans.length;
    this.#spans.push({ start: this.#position, size });
    this.#start += size;
    this.#position += size;
    const { store, codec, digest } = this.#options;
    await this.#group.spawn(async (signal) => {
      if (!store) {
        this.#ids[index] = await codec.hash(data, digest);
        return;
      }
      if (this.#storeDir !== undefined) {
        // `data` is ours alone: it moves to the worker, which hashes, compresses and
        // writes it. (Handing the frame back for an asynchronous write here, as make
        // does, measured slower for tar -i, whose main thread is busy walking the tree.)
        const result = await codec.storePlain({ data, digest, storeDir: this.#storeDir });
        this.#ids[index] = result.id;
        if (result.written !== undefined && !this.#stored.has(result.id)) {
          this.#stored.add(result.id);
          this.#stats.storedChunks++;
          this.#stats.bytesStored += result.written;
        }
        return;
      }
      const { id, compressed } = await codec.encode(data, digest);
      this.#ids[index] = id;
      if (this.#stored.has(id)) return;
      this.#stored.add(id);
      await store.storeChunk({ id, compressed }, signal);
      this.#stats.storedChunks++;
      this.#stats.bytesStored += compressed.length;
    });
  }
}
