/**
 * A chunk store in an S3 bucket (AWS S3, Ceph RGW, MinIO, …): objects
 * `<prefix><4 hex>/<id>.cacnk` (or `<id>` in an uncompressed store), the same
 * layout as a local store and Go desync's S3 store. Reads, writes, lists (for
 * verify, prune and info) and removes; a PUT is atomic, so no reader ever sees
 * half a chunk.
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { ChunkMissing } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";
import { decodeStoredChunk } from "./decode.ts";
import { storedForm } from "./encode.ts";
import { type S3Auth, S3Client } from "./s3_client.ts";
import { parseS3Location } from "./s3_location.ts";
import { chunkIdOfKey, chunkKey, type StoreSettings } from "./settings.ts";
import {
  type Chunk,
  type PruneStore,
  type RawChunk,
  type RawChunkStore,
  type StorableChunk,
  type WriteStore,
} from "./store.ts";
import { CHUNK_SIZE_LIMIT, maxStoredChunkSize } from "../format/store_layout.ts";

export interface S3StoreOptions {
  codec: CodecPool;
  digests: readonly Digest[];
  settings: StoreSettings;
  auth: S3Auth;
  /** The largest plain chunk that can be asked for; bounds what a GET may read. */
  maxChunkSize?: number;
}

export class S3Store implements WriteStore, PruneStore, RawChunkStore {
  readonly name: string;
  readonly #maxBody: number;
  readonly #client: S3Client;
  readonly #codec: CodecPool;
  readonly #digests: readonly Digest[];
  readonly #uncompressed: boolean;

  constructor(location: string, options: S3StoreOptions) {
    this.name = location;
    this.#client = new S3Client(
      location,
      parseS3Location(location),
      options.auth,
      options.settings.http,
    );
    this.#codec = options.codec;
    this.#digests = options.digests;
    this.#uncompressed = options.settings.uncompressed;
    this.#maxBody = maxStoredChunkSize(options.maxChunkSize ?? CHUNK_SIZE_LIMIT);
  }

  #key(id: ChunkId, uncompressed = this.#uncompressed): string {
    return `${this.#client.location.prefix}${chunkKey(id, uncompressed)}`;
  }

  async getRawChunk(id: ChunkId, signal?: AbortSignal): Promise<RawChunk> {
    const data = await this.#client.getObject(this.#key(id), `chunk ${id}`, signal, this.#maxBody);
    if (data === undefined) throw new ChunkMissing(id, this.name);
    return { data, compressed: !this.#uncompressed };
  }

  async getChunk(id: ChunkId, signal?: AbortSignal): Promise<Chunk> {
    const raw = await this.getRawChunk(id, signal);
    return await decodeStoredChunk(this.#codec, this.name, id, this.#digests, raw);
  }

  async hasChunk(id: ChunkId, signal?: AbortSignal): Promise<boolean> {
    return await this.#client.headObject(this.#key(id), `chunk ${id}`, signal);
  }

  async storeChunk(chunk: StorableChunk, signal?: AbortSignal): Promise<void> {
    const body = await storedForm(this.#codec, this.name, chunk, this.#uncompressed, this.#digests);
    const type = this.#uncompressed ? "application/octet-stream" : "application/zstd";
    await this.#client.putObject(this.#key(chunk.id), body, type, `chunk ${chunk.id}`, signal);
  }

  /** Chunks in both forms are listed (once each), as in a local store. */
  async *listChunks(signal?: AbortSignal): AsyncIterable<ChunkId> {
    const prefix = this.#client.location.prefix;
    let last: string | undefined;
    for await (const key of this.#client.listKeys(prefix, signal)) {
      const id = chunkIdOfKey(key.slice(prefix.length));
      // Keys come sorted, so `<id>` and `<id>.cacnk` are neighbours.
      if (id === undefined || id === last) continue;
      last = id;
      yield id;
    }
  }

  /** Both forms, or with `firstFormOnly` the one this store reads (verify -r found it invalid). */
  async removeChunk(id: ChunkId, options: { firstFormOnly?: boolean } = {}): Promise<void> {
    const forms = options.firstFormOnly ? [this.#uncompressed] : [false, true];
    for (const uncompressed of forms) {
      await this.#client.deleteObject(this.#key(id, uncompressed), `chunk ${id}`);
    }
  }

  close(): Promise<void> {
    this.#client.close();
    return Promise.resolve();
  }
}
