/**
 * Several stores asked in order: a chunk missing from one is looked for in the
 * next; any other failure (an invalid chunk, an unreachable store) stops the search.
 */
import { ChunkMissing } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import {
  type Chunk,
  type ChunkWant,
  deepestPipeline,
  type Store,
  type StoreSequence,
} from "./store.ts";

export class StoreRouter implements StoreSequence {
  readonly name: string;

  constructor(readonly stores: readonly Store[]) {
    if (stores.length === 0) throw new RangeError("a router needs at least one store");
    this.name = stores.map((store) => store.name).join(", ");
  }

  get sequence(): readonly Store[] {
    return this.stores;
  }

  /** Misses go on to the next store: any may be asked, so the deepest pipeline is kept busy. */
  get pipelineDepth(): number | undefined {
    return deepestPipeline(this.stores);
  }

  async getChunk(id: ChunkId, signal?: AbortSignal, want?: ChunkWant): Promise<Chunk> {
    for (const store of this.stores) {
      try {
        return await store.getChunk(id, signal, want);
      } catch (error) {
        if (!(error instanceof ChunkMissing)) throw error;
      }
    }
    throw new ChunkMissing(id, this.stores.length > 1 ? undefined : this.name);
  }

  async hasChunk(id: ChunkId, signal?: AbortSignal): Promise<boolean> {
    for (const store of this.stores) {
      if (await store.hasChunk(id, signal)) return true;
    }
    return false;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.stores.map((store) => store.close()));
  }
}
