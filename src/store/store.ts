/**
 * The store contract, one interface per capability. A backend implements only
 * what it really can; callers ask for the capability they need.
 */
import type { ChunkId } from "../format/chunk_id.ts";
import type { HttpOptions } from "../util/http_client.ts";

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
  getChunk(id: ChunkId, signal?: AbortSignal, want?: ChunkWant): Promise<Chunk>;
  hasChunk(id: ChunkId, signal?: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
  /**
   * Requests a pipelined protocol answers best with in flight at once (an SSH
   * store; a store made of others, its deepest member's): see requestWindow.
   */
  readonly pipelineDepth?: number;
}

/**
 * Chunks to ask of `store` at once: -n, or more when it pipelines (an SSH
 * session answers 16 in a row while one each left it waiting on every round
 * trip: 128 MiB at -n 1 took 5.6 s, not 1.2).
 */
export function requestWindow(store: Store, concurrency: number): number {
  return Math.max(concurrency, store.pipelineDepth ?? 0);
}

/** The deepest pipeline among `stores`, or undefined when none pipelines. */
export function deepestPipeline(stores: readonly Store[]): number | undefined {
  return Math.max(0, ...stores.map((store) => store.pipelineDepth ?? 0)) || undefined;
}

/** What a getChunk caller will use of the chunk. */
export interface ChunkWant {
  /**
   * Only the plain data: a store that would hand over its zstd frame too (a
   * local one, read in a codec lane and copied back) need not.
   */
  plainOnly?: boolean;
}

/** For callers that use only a chunk's plain data (cat, untar -i, extract's fallback). */
export const PLAIN_ONLY: ChunkWant = { plainOnly: true };

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
  /**
   * Removes a chunk. With `unlessUsedSince`, a store that records use times
   * (local directories: the file's mtime, which writers and `make` refresh)
   * keeps a chunk used since then and returns false. With `firstFormOnly`, only
   * the file a read finds first goes (`<id>.cacnk`, else Go desync's bare `<id>`):
   * verify -r found that one invalid, and the other form may be a valid chunk.
   */
  removeChunk(
    id: ChunkId,
    options?: { unlessUsedSince?: Date; firstFormOnly?: boolean },
  ): Promise<boolean | void>;
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
  /** The store directory (chunks lie where format/store_layout.ts says). */
  readonly dir: string;
  /** Whether it writes chunks as plain `<id>` files (workers write only `.cacnk` ones). */
  readonly uncompressed?: boolean;
  chunkPath(id: ChunkId): string;
}

export function isChunkFileStore(store: Store): store is ChunkFileStore {
  return typeof (store as Partial<ChunkFileStore>).chunkPath === "function";
}

/**
 * The directory the codec workers may write compressed chunk files into
 * themselves: a local store's that keeps zstd files; else undefined.
 */
export function workerStoreDir(store: Store | undefined): string | undefined {
  return store && isChunkFileStore(store) && !store.uncompressed ? store.dir : undefined;
}

/** A chunk as a store holds or sends it, not yet decoded nor verified. */
export interface RawChunk {
  data: Uint8Array;
  /** Whether `data` is a zstd frame (else the plain bytes). */
  compressed: boolean;
  /**
   * Whether nothing else uses the memory behind `data` (its whole ArrayBuffer),
   * so it may be moved to a worker rather than copied even when `data` is a
   * part of it (a protocol message's payload).
   */
  ownsBuffer?: boolean;
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

/**
 * A store made of other stores asked in order (a router). Callers that plan
 * per source (extract's workers read local members' files directly) look inside.
 */
export interface StoreSequence extends Store {
  /** Asked in order; a chunk missing from one is looked for in the next. */
  readonly sequence: readonly Store[];
}

export function isStoreSequence(store: Store): store is StoreSequence {
  return Array.isArray((store as Partial<StoreSequence>).sequence);
}

/** A store behind a writable cache: the cache is asked first and filled on misses. */
export interface CachedSource extends Store {
  readonly cache: WriteStore;
  readonly upstream: Store;
  /** Whether an invalid cached chunk is fetched again and replaced (else an error). */
  readonly repair?: boolean;
}

export function isCachedSource(store: Store): store is CachedSource {
  const cached = store as Partial<CachedSource>;
  return cached.cache !== undefined && cached.upstream !== undefined;
}

/** What a worker needs to GET a store's chunks itself (all of it can be posted to a worker). */
export interface WorkerFetch {
  http: HttpOptions;
  /** The largest body a chunk GET may have. */
  maxBytes: number;
  /** Whether chunk files are zstd frames (else plain `<id>` files). */
  compressed: boolean;
}

/**
 * A store whose chunks are plain HTTP GETs of their URLs, so codec workers can
 * fetch, verify and write them without the main thread (extract's fast path).
 * A 404 means missing; any other failure is the store's.
 */
export interface HttpChunkStore extends Store {
  chunkUrl(id: ChunkId): string;
  readonly workerFetch: WorkerFetch;
}

export function isHttpChunkStore(store: Store): store is HttpChunkStore {
  const candidate = store as Partial<HttpChunkStore>;
  return typeof candidate.chunkUrl === "function" && candidate.workerFetch !== undefined;
}
