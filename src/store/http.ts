/**
 * A chunk store behind HTTP(S): `GET|HEAD|PUT <base>/<4 hex>/<id>.cacnk`.
 * 200 is found, 404 is missing (the router then asks the next store), anything
 * else is an error naming the store. Every chunk read is verified.
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { ChunkMissing, StoreError } from "../errors.ts";
import { decodeStoredChunk } from "./decode.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";
import {
  accessHint,
  HttpNetworkError,
  type HttpOptions,
  HttpTransport,
} from "../util/http_client.ts";
import { parseHttpLocation } from "./http_location.ts";
import { storedForm } from "./encode.ts";
import { chunkKey } from "./settings.ts";
import {
  type Chunk,
  type HttpChunkStore,
  type RawChunk,
  type RawChunkStore,
  type StorableChunk,
  type WorkerFetch,
  type WriteStore,
} from "./store.ts";
import { CHUNK_SIZE_LIMIT, maxStoredChunkSize } from "../format/store_layout.ts";

export interface HttpStoreOptions {
  codec: CodecPool;
  digests: readonly Digest[];
  http: HttpOptions;
  /** The largest plain chunk that can be asked for; bounds what a GET may read. */
  maxChunkSize?: number;
  /** Chunks are plain `<id>` files rather than zstd `<id>.cacnk` (Go desync's uncompressed stores). */
  uncompressed?: boolean;
}

export class HttpStore implements WriteStore, RawChunkStore, HttpChunkStore {
  readonly name: string;
  readonly #base: URL;
  readonly #codec: CodecPool;
  readonly #digests: readonly Digest[];
  readonly #transport: HttpTransport;
  readonly #http: HttpOptions;
  readonly #maxBody: number;
  readonly #uncompressed: boolean;
  readonly workerFetch: WorkerFetch;

  /** `url` must have passed parseHttpLocation (location.ts does that for users' input). */
  constructor(url: string, options: HttpStoreOptions) {
    this.name = url;
    this.#base = parseHttpLocation(url, "store");
    if (!this.#base.pathname.endsWith("/")) this.#base.pathname += "/";
    this.#codec = options.codec;
    this.#digests = options.digests;
    this.#maxBody = maxStoredChunkSize(options.maxChunkSize ?? CHUNK_SIZE_LIMIT);
    this.#uncompressed = options.uncompressed ?? false;
    this.workerFetch = {
      http: options.http,
      maxBytes: this.#maxBody,
      compressed: !this.#uncompressed,
    };
    this.#http = options.http;
    try {
      this.#transport = new HttpTransport(options.http);
    } catch (error) {
      throw new StoreError(url, (error as Error).message, { cause: error });
    }
  }

  chunkUrl(id: ChunkId): string {
    return new URL(chunkKey(id, this.#uncompressed), this.#base).href;
  }

  async getRawChunk(id: ChunkId, signal?: AbortSignal): Promise<RawChunk> {
    const response = await this.#request("GET", id, signal);
    if (response.status === 404) throw new ChunkMissing(id, this.name);
    this.#expectOk(response.status, "GET", id);
    return { data: response.body, compressed: !this.#uncompressed };
  }

  async getChunk(id: ChunkId, signal?: AbortSignal): Promise<Chunk> {
    const raw = await this.getRawChunk(id, signal);
    return await decodeStoredChunk(this.#codec, this.name, id, this.#digests, raw);
  }

  async hasChunk(id: ChunkId, signal?: AbortSignal): Promise<boolean> {
    const response = await this.#request("HEAD", id, signal);
    if (response.status === 404) return false;
    this.#expectOk(response.status, "HEAD", id);
    return true;
  }

  async storeChunk(chunk: StorableChunk, signal?: AbortSignal): Promise<void> {
    const body = await storedForm(
      this.#codec,
      this.name,
      chunk,
      this.#uncompressed,
      this.#digests,
    );
    const response = await this.#request("PUT", chunk.id, signal, body);
    this.#expectOk(response.status, "PUT", chunk.id);
  }

  close(): Promise<void> {
    this.#transport.close();
    return Promise.resolve();
  }

  async #request(
    method: "GET" | "HEAD" | "PUT",
    id: ChunkId,
    signal?: AbortSignal,
    body?: Uint8Array,
  ) {
    try {
      // Only a GET's body is used; any other answer's body is read no further than a page.
      const maxBytes = method === "GET" ? this.#maxBody : 64 << 10;
      return await this.#transport.request(method, this.chunkUrl(id), { body, signal, maxBytes });
    } catch (error) {
      if (error instanceof HttpNetworkError) {
        throw new StoreError(this.name, `${method} chunk ${id}: ${error.message}`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  #expectOk(status: number, method: string, id: ChunkId) {
    if (status < 200 || status > 299) {
      throw new StoreError(
        this.name,
        `${method} chunk ${id}: HTTP status ${status}${accessHint(status, this.#http)}`,
      );
    }
  }
}
