/**
 * A chunk store on an SSH server, over SFTP: `sftp://[user@]host[:port]/path`,
 * the same `<4 hex>/<id>.cacnk` layout as a local store. Reads, writes (a
 * temporary name, then a rename), lists and removes. One connection carries up
 * to `concurrency` requests at once; it is made on first use (so a failover
 * group can skip a server that is down) and made again after it breaks.
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { ChunkMissing, StoreError } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";
import { decodeStoredChunk } from "./decode.ts";
import { storedForm } from "./encode.ts";
import { chunkIdOfKey, chunkKey, type StoreSettings } from "./settings.ts";
import { SftpConnection, SftpConnectionError, SftpStatusError } from "./sftp_connection.ts";
import { parseSftpLocation, type SftpLocation, type SftpOptions } from "./sftp_location.ts";
import {
  type Chunk,
  type PruneStore,
  type RawChunk,
  type RawChunkStore,
  type StorableChunk,
  type WriteStore,
} from "./store.ts";
import { CHUNK_SIZE_LIMIT, maxStoredChunkSize } from "../format/store_layout.ts";
import { Semaphore } from "../util/semaphore.ts";
import { sleep, untilAborted } from "../util/tasks.ts";

export interface SftpStoreOptions {
  codec: CodecPool;
  digests: readonly Digest[];
  settings: StoreSettings;
  sftp: SftpOptions;
  /** The largest plain chunk that can be asked for; bounds what a read may take. */
  maxChunkSize?: number;
  /**
   * The store is written to (make, a cache) and its directory made when needed.
   * Otherwise a missing directory is the store's failure, not a missing chunk.
   */
  create?: boolean;
}

/** A connection to one SFTP server, made on first use and again after it breaks. */
export class SftpSessions {
  readonly #name: string;
  readonly #location: SftpLocation;
  readonly #options: SftpOptions;
  readonly #settings: StoreSettings;
  readonly #slots: Semaphore;
  #connection?: Promise<SftpConnection>;
  #closed = false;

  constructor(name: string, location: SftpLocation, options: SftpOptions, settings: StoreSettings) {
    this.#name = name;
    this.#location = location;
    this.#options = options;
    this.#settings = settings;
    this.#slots = new Semaphore(Math.max(1, options.concurrency));
  }

  get location(): SftpLocation {
    return this.#location;
  }

  /**
   * Runs `work` on a live connection, at most `concurrency` at once. A broken
   * connection is replaced and the work retried, up to the error-retry count.
   */
  async run<T>(
    what: string,
    work: (connection: SftpConnection) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const { errorRetry, retryBaseMs } = this.#settings.http;
    await this.#slots.acquire(signal);
    try {
      for (let attempt = 0;; attempt++) {
        try {
          // A connection being made is waited for only while the signal allows.
          return await work(await untilAborted(this.#connect(), signal));
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          if (error instanceof SftpStatusError) {
            throw new StoreError(this.#name, `${what}: ${error.message}`, { cause: error });
          }
          if (!(error instanceof SftpConnectionError)) throw error;
          if (attempt >= errorRetry) {
            throw new StoreError(this.#name, `${what}: ${error.message}`, { cause: error });
          }
          await sleep((attempt + 1) * retryBaseMs, signal);
        }
      }
    } finally {
      this.#slots.release();
    }
  }

  #connect(): Promise<SftpConnection> {
    if (this.#closed) return Promise.reject(new SftpConnectionError("the store is closed"));
    const current = this.#connection;
    if (current) {
      return current.then((connection) => {
        if (!connection.dead) return connection;
        if (this.#connection === current) this.#connection = undefined;
        return this.#connect();
      }, (error) => {
        if (this.#connection === current) this.#connection = undefined;
        throw error;
      });
    }
    const opening = SftpConnection.open(
      this.#name,
      this.#location,
      this.#options,
      this.#settings.http.timeoutMs,
    );
    this.#connection = opening;
    // Those waiting now share the failure; a later attempt (a retry) connects afresh.
    opening.catch(() => {
      if (this.#connection === opening) this.#connection = undefined;
    });
    return opening;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connection = await this.#connection?.catch(() => undefined);
    connection?.close();
  }
}

/** The store's directory is not there: every read would be "missing". */
class MissingRoot extends StoreError {}

export class SftpStore implements WriteStore, PruneStore, RawChunkStore {
  readonly name: string;
  readonly #sessions: SftpSessions;
  readonly #root: string;
  readonly #codec: CodecPool;
  readonly #digests: readonly Digest[];
  readonly #uncompressed: boolean;
  readonly #concurrency: number;
  readonly #maxFile: number;
  readonly #create: boolean;
  /** Whether the store's directory exists, asked on the first missing chunk. */
  #rootChecked?: Promise<void>;

  constructor(location: string, options: SftpStoreOptions) {
    this.name = location;
    const parsed = parseSftpLocation(location);
    this.#sessions = new SftpSessions(location, parsed, options.sftp, options.settings);
    this.#root = parsed.path === "/" ? "" : parsed.path;
    this.#codec = options.codec;
    this.#digests = options.digests;
    this.#uncompressed = options.settings.uncompressed;
    this.#concurrency = Math.max(1, options.sftp.concurrency);
    this.#maxFile = maxStoredChunkSize(options.maxChunkSize ?? CHUNK_SIZE_LIMIT);
    this.#create = options.create ?? false;
  }

  /**
   * A mistyped store path makes every chunk missing, and with several stores
   * one passes for "not here": as a local store (and Go desync) does, say the
   * directory is missing instead.
   */
  async #checkRoot(signal?: AbortSignal): Promise<void> {
    if (this.#create) return;
    const root = this.#root || "/";
    this.#rootChecked ??= this.#sessions.run(
      "checking the store directory",
      (connection) => connection.stat(root, signal),
      signal,
    ).then((kind) => {
      if (kind !== "directory") throw new MissingRoot(this.name, `no directory ${root}`);
    });
    const checked = this.#rootChecked;
    // A check cut short (Ctrl-C, a broken connection) is asked again next time.
    checked.catch((error) => {
      if (!(error instanceof MissingRoot) && this.#rootChecked === checked) {
        this.#rootChecked = undefined;
      }
    });
    await checked;
  }

  #path(id: ChunkId, uncompressed = this.#uncompressed): string {
    return `${this.#root}/${chunkKey(id, uncompressed)}`;
  }

  async getRawChunk(id: ChunkId, signal?: AbortSignal): Promise<RawChunk> {
    const data = await this.#sessions.run(
      `reading chunk ${id}`,
      (connection) => connection.readFile(this.#path(id), this.#maxFile, signal),
      signal,
    );
    if (data === undefined) {
      await this.#checkRoot(signal);
      throw new ChunkMissing(id, this.name);
    }
    return { data, compressed: !this.#uncompressed };
  }

  async getChunk(id: ChunkId, signal?: AbortSignal): Promise<Chunk> {
    const raw = await this.getRawChunk(id, signal);
    return await decodeStoredChunk(this.#codec, this.name, id, this.#digests, raw);
  }

  async hasChunk(id: ChunkId, signal?: AbortSignal): Promise<boolean> {
    const kind = await this.#sessions.run(
      `checking chunk ${id}`,
      (connection) => connection.stat(this.#path(id), signal),
      signal,
    );
    if (kind === undefined) await this.#checkRoot(signal);
    return kind === "file";
  }

  async storeChunk(chunk: StorableChunk, signal?: AbortSignal): Promise<void> {
    const body = await storedForm(this.#codec, this.name, chunk, this.#uncompressed, this.#digests);
    await this.#sessions.run(
      `writing chunk ${chunk.id}`,
      (connection) => connection.writeFile(this.#path(chunk.id), body, signal),
      signal,
    );
  }

  /** Chunks in both forms are listed (once each); prefix directories are read in parallel. */
  async *listChunks(signal?: AbortSignal): AsyncIterable<ChunkId> {
    const root = this.#root || "/";
    const names = await this.#sessions.run(
      "listing",
      (connection) => connection.readdir(root, signal),
      signal,
    );
    if (names === undefined) throw new StoreError(this.name, `listing: no directory ${root}`);
    const prefixes = names.filter((name) => /^[0-9a-f]{4}$/.test(name)).sort();
    // Read a window of directories ahead, yield in order.
    const pending: Promise<ChunkId[]>[] = [];
    let next = 0;
    const readAhead = () => {
      while (next < prefixes.length && pending.length < this.#concurrency) {
        pending.push(this.#listPrefix(prefixes[next++], signal));
      }
    };
    readAhead();
    while (pending.length) {
      const ids = await pending.shift()!;
      readAhead();
      yield* ids;
    }
  }

  async #listPrefix(prefix: string, signal?: AbortSignal): Promise<ChunkId[]> {
    const names = await this.#sessions.run(
      "listing",
      (connection) => connection.readdir(`${this.#root}/${prefix}`, signal),
      signal,
    ) ?? [];
    const ids = new Set<ChunkId>();
    for (const name of names) {
      const id = chunkIdOfKey(`${prefix}/${name}`);
      if (id) ids.add(id);
    }
    return [...ids].sort();
  }

  /** Both forms, or with `firstFormOnly` the one this store reads (verify -r found it invalid). */
  async removeChunk(id: ChunkId, options: { firstFormOnly?: boolean } = {}): Promise<void> {
    const forms = options.firstFormOnly ? [this.#uncompressed] : [false, true];
    await this.#sessions.run(`removing chunk ${id}`, async (connection) => {
      for (const uncompressed of forms) await connection.unlink(this.#path(id, uncompressed));
    });
  }

  async close(): Promise<void> {
    await this.#sessions.close();
  }
}
