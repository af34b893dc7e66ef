/**
 * The store contract, one interface per capability. A backend implements only
 * what it really can; callers ask for the capability they need.
 */
import type { ChunkId } from "../format/chunk_id.ts";

/** A verified chunk: its plain data, and the compressed form when it is at hand. */
export interface Chunk {
  readonly id: ChunkId;
  readonly plain: Uint8Array;
  readonly compressed?: Uint8Array;
}

export interface Store {
  /** How the user named the store; used in every message about it. */
  readonly name: string;
  /**
   * The chunk's plain data, verified against its ID.
   * Throws ChunkMissing when the store lacks it, ChunkInvalid when its data is bad,
   * StoreError when the store cannot answer.
   */
  getChunk(id: ChunkId, signal?: AbortSignal): Promise<Chunk>;
  hasChunk(id: ChunkId, signal?: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

/** A chunk on its way into a store: its plain data, its zstd frame, or both. */
export type StorableChunk =
  | Chunk
  | { readonly id: ChunkId; readonly compressed: Uint8Array; readonly plain?: Uint8Array };

export interface WriteStore extends Store {
  /** Stores a chunk; a reader never sees a partly written chunk under its name. */
  storeChunk(chunk: StorableChunk, signal?: AbortSignal): Promise<void>;
}

export interface ListStore extends Store {
  listChunks(signal?: AbortSignal): AsyncIterable<ChunkId>;
}

export interface PruneStore extends ListStore {
  removeChunk(id: ChunkId): Promise<void>;
}

/** A store that can record that a chunk was just used (cache expiry by age). */
export interface TouchStore extends Store {
  touchChunk(id: ChunkId): Promise<void>;
}

export function isWriteStore(store: Store): store is WriteStore {
  return typeof (store as Partial<WriteStore>).storeChunk === "function";
}

export function isListStore(store: Store): store is ListStore {
  return typeof (store as Partial<ListStore>).listChunks === "function";
}

export function isPruneStore(store: Store): store is PruneStore {
  return typeof (store as Partial<PruneStore>).removeChunk === "function" &&
    typeof (store as Partial<PruneStore>).listChunks === "function";
}

export function isTouchStore(store: Store): store is TouchStore {
  return typeof (store as Partial<TouchStore>).touchChunk === "function";
}

/** A store whose chunks are plain files that a worker may read directly (the fast path). */
export interface ChunkFileStore extends Store {
  chunkPath(id: ChunkId): string;
}

export function isChunkFileStore(store: Store): store is ChunkFileStore {
  return typeof (store as Partial<ChunkFileStore>).chunkPath === "function";
}

/** A chunk as a store holds or sends it, not yet decoded nor verified. */
export interface RawChunk {
  data: Uint8Array;
  /** Whether `data` is a zstd frame (else the plain bytes). */
  compressed: boolean;
}

/**
 * A store that can hand over a chunk without decoding it, so a caller that
 * verifies elsewhere (extract's workers) saves a round trip. Throws ChunkMissing
 * like getChunk.
 */
export interface RawChunkStore extends Store {
  getRawChunk(id: ChunkId, signal?: AbortSignal): Promise<RawChunk>;
}

export function isRawChunkStore(store: Store): store is RawChunkStore {
  return typeof (store as Partial<RawChunkStore>).getRawChunk === "function";
}
