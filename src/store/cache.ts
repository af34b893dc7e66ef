/**
 * A writable cache in front of a store: asked first, filled on every miss.
 * A hit refreshes the chunk's age where the cache can, so old chunks can be expired.
 * An invalid chunk in the cache is fetched again and replaced when `repair` is
 * set (Go desync's default, `--cache-repair`); otherwise it fails loudly
 * (`verify -r` repairs the cache).
 */
import { ChunkInvalid, ChunkMissing } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import {
  type CachedSource,
  type Chunk,
  isTouchStore,
  type Store,
  type WriteStore,
} from "./store.ts";

export class CachedStore implements CachedSource {
  readonly name: string;
  /** Whether an invalid cached chunk is replaced from upstream rather than an error. */
  readonly repair: boolean;

  constructor(
    readonly cache: WriteStore,
    readonly upstream: Store,
    options: { repair?: boolean } = {},
  ) {
    this.name = `${upstream.name} (cache ${cache.name})`;
    this.repair = options.repair === true;
  }

  async getChunk(id: ChunkId, signal?: AbortSignal): Promise<Chunk> {
    try {
      const chunk = await this.cache.getChunk(id, signal);
      if (isTouchStore(this.cache)) await this.cache.touchChunk(id);
      return chunk;
    } catch (error) {
      if (error instanceof ChunkInvalid && !this.repair) {
        const remedy = "(repair with verify -r, or leave out --cache-repair=false)";
        throw new ChunkInvalid(id, this.cache.name, `${error.detail} ${remedy}`);
      }
      if (!(error instanceof ChunkMissing) && !(error instanceof ChunkInvalid)) throw error;
    }
    const chunk = await this.upstream.getChunk(id, signal);
    await this.cache.storeChunk(chunk, signal);
    return chunk;
  }

  async hasChunk(id: ChunkId, signal?: AbortSignal): Promise<boolean> {
    return await this.cache.hasChunk(id, signal) || await this.upstream.hasChunk(id, signal);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.cache.close(), this.upstream.close()]);
  }
}
