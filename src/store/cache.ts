/**
 * A writable cache in front of a store: asked first, filled on every miss.
 * A hit refreshes the chunk's age where the cache can, so old chunks can be expired.
 * An invalid chunk in the cache is fetched again and replaced when `repair` is
 * set (Go desync's default, `--cache-repair`); otherwise it fails loudly
 * (`verify -r` repairs the cache).
 *
 * A chunk the cache cannot take (a full disk, a read-only cache) is still
 * returned when `onWriteError` is given: the stores had it, and the cache only
 * saves fetching it again. The first such failure is passed to `onWriteError`.
 */
import { ChunkInvalid, ChunkMissing, StoreError } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import {
  type CachedSource,
  type Chunk,
  type ChunkWant,
  isTouchStore,
  type Store,
  type WriteStore,
} from "./store.ts";

export class CachedStore implements CachedSource {
  readonly name: string;
  /** Whether an invalid cached chunk is replaced from upstream rather than an error. */
  readonly repair: boolean;
  readonly #onWriteError?: (error: StoreError) => void;
  #writeFailed = false;

  constructor(
    readonly cache: WriteStore,
    readonly upstream: Store,
    options: { repair?: boolean; onWriteError?: (error: StoreError) => void } = {},
  ) {
    this.name = `${upstream.name} (cache ${cache.name})`;
    this.repair = options.repair === true;
    this.#onWriteError = options.onWriteError;
  }

  /** Misses are fetched upstream: its pipeline is what needs keeping busy. */
  get pipelineDepth(): number | undefined {
    return this.upstream.pipelineDepth;
  }

  async getChunk(id: ChunkId, signal?: AbortSignal, want?: ChunkWant): Promise<Chunk> {
    try {
      const chunk = await this.cache.getChunk(id, signal, want);
      if (isTouchStore(this.cache)) await this.cache.touchChunk(id);
      return chunk;
    } catch (error) {
      if (error instanceof ChunkInvalid && !this.repair) {
        const remedy = "(repair with verify -r, or leave out --cache-repair=false)";
        throw new ChunkInvalid(id, this.cache.name, `${error.detail} ${remedy}`);
      }
      if (!(error instanceof ChunkMissing) && !(error instanceof ChunkInvalid)) throw error;
    }
    // All of it: the cache stores the zstd frame as it came, rather than encode the data again.
    const chunk = await this.upstream.getChunk(id, signal);
    try {
      await this.cache.storeChunk(chunk, signal);
    } catch (error) {
      if (!(error instanceof StoreError) || !this.#onWriteError || signal?.aborted) throw error;
      if (!this.#writeFailed) this.#onWriteError(error);
      this.#writeFailed = true;
    }
    return chunk;
  }

  async hasChunk(id: ChunkId, signal?: AbortSignal): Promise<boolean> {
    return await this.cache.hasChunk(id, signal) || await this.upstream.hasChunk(id, signal);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.cache.close(), this.upstream.close()]);
  }
}
