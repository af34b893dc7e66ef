/**
 * Where a chunk server's answers come from. Local store directories at the head
 * of the chain (`-s`) are read directly into reusable buffers and served as
 * stored (the client verifies, as it would behind nginx, and as Go desync's
 * default `--skip-verify-read` does). A local cache (`-c`), and those stores with
 * `--skip-verify-read=false`, are served the same way once a codec lane has
 * decoded and hashed the file; a file found invalid, and anything else, goes
 * through the store chain, which verifies every chunk it serves and replaces an
 * invalid cached one from the stores (`-r`). Concurrent requests for the same
 * chunk share one fetch.
 */
import { type CodecPool, MISSING } from "../chunk/codec_pool.ts";
import { ChunkInvalid, ChunkMissing } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";
import { type Chunk, type Store } from "../store/store.ts";
import { CHUNK_SIZE_LIMIT, chunkKey, maxStoredChunkSize } from "../format/store_layout.ts";
import { statRegularFileSync, UnfitFile } from "../util/regular_file.ts";
import { untilAborted } from "../util/tasks.ts";

export interface ServedChunk {
  /** The bytes to send: the zstd frame, or the plain data when serving uncompressed. */
  body: Uint8Array;
  /** Gives a pooled buffer back once the response has been written (needs no `this`). */
  readonly release: () => void;
}

export interface ChunkSourceOptions {
  /** Local store directories read directly and served unverified, in order, before the chain. */
  localDirs: readonly string[];
  /**
   * Local directories read directly once a codec lane has verified the file, in order, before
   * the chain (which repairs or reports a file found invalid): the cache, or the local stores
   * with `--skip-verify-read=false`. Not with `uncompressed`.
   */
  checkedDirs?: readonly string[];
  /** The cache's directory: the time of the files served from it is refreshed (prune spares them). */
  touched?: string;
  /**
   * Local directories of the chain (the cache, local stores), as their stores are named: an
   * invalid chunk from one of them is reported with the path of its file.
   */
  chainDirs?: readonly string[];
  /** The store chain (cache and stores), asked when no local file has the chunk. */
  chain: Store;
  codec: CodecPool;
  digests: readonly Digest[];
  /** Serve plain chunk data (`-u`) instead of zstd frames. */
  uncompressed: boolean;
}

const POOLED_SIZE = 256 * 1024;
const POOL_MAX = 64;

export class ChunkSource {
  readonly #options: ChunkSourceOptions;
  readonly #pool: Uint8Array[] = [];
  readonly #fetching = new Map<ChunkId, Promise<Chunk>>();

  constructor(options: ChunkSourceOptions) {
    this.#options = options;
  }

  /**
   * The chunk's bytes as served from a checked directory or the store chain, or
   * undefined when no store has it; for a chunk `readLocal` did not find.
   */
  async get(id: ChunkId, signal?: AbortSignal): Promise<ServedChunk | undefined> {
    const checked = await this.#readChecked(id);
    if (checked) return checked;
    let chunk: Chunk;
    try {
      chunk = await this.#fetch(id, signal);
    } catch (error) {
      if (error instanceof ChunkMissing) return undefined;
      if (error instanceof ChunkInvalid) throw this.#naming(error, id);
      throw error;
    }
    const body = this.#options.uncompressed ? chunk.plain : chunk.compressed ??
      (await this.#options.codec.encode(chunk.plain, this.#options.digests[0])).compressed;
    return { body, release: doNothing };
  }

  /** The size of the chunk as it would be served when known, -1 when not, undefined if missing. */
  async size(id: ChunkId, signal?: AbortSignal): Promise<number | undefined> {
    for (const dir of this.#options.localDirs) {
      const info = regularFileInfo(dir, this.#path(dir, id), id);
      if (info) return info.size;
    }
    return await this.#options.chain.hasChunk(id, signal) ? -1 : undefined;
  }

  /**
   * The chunk from a local store directory, or undefined (then ask `get`). Reads
   * the file synchronously into a pooled buffer: for files in the page
   * cache this is twice as fast as an asynchronous read into a fresh buffer, as
   * allocating a buffer per response dominates.
   */
  readLocal(id: ChunkId): ServedChunk | undefined {
    const { localDirs } = this.#options;
    for (let i = 0; i < localDirs.length; i++) {
      const path = this.#path(localDirs[i], id);
      // Checked before opening: opening a FIFO would block this thread until a writer came.
      const info = regularFileInfo(localDirs[i], path, id);
      if (!info) continue;
      const served = this.#readPath(info.size, localDirs[i], path, id);
      if (served) {
        this.#touch(localDirs[i], path);
        return served;
      }
    }
    return undefined;
  }

  /**
   * The chunk from the first checked directory that has it, as a codec lane read
   * the file and found it to be the chunk: the very bytes it checked are served.
   * Undefined when none has it, or its file is not the chunk's zstd frame (the
   * chain then repairs it, says why, or serves the plain file it finds).
   */
  async #readChecked(id: ChunkId): Promise<ServedChunk | undefined> {
    const { checkedDirs = [], codec, digests } = this.#options;
    for (const dir of checkedDirs) {
      const path = this.#path(dir, id);
      const found = await codec.readChunk({ path, id, digests, maxBytes: MAX_CHUNK_FILE_SIZE });
      if (found === MISSING) continue;
      if ("invalid" in found || !found.zstd) return undefined;
      this.#touch(dir, path);
      return { body: found.zstd, release: doNothing };
    }
    return undefined;
  }

  #touch(dir: string, path: string) {
    if (dir !== this.#options.touched) return;
    const now = new Date();
    Deno.utime(path, now, now).catch(() => {});
  }

  /** Reads the chunk file at `path`, stat'ed as `size` bytes; undefined when it is gone. */
  #readPath(size: number, dir: string, path: string, id: ChunkId): ServedChunk | undefined {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    try {
      return this.#readFile(file, size, dir, path, id);
    } finally {
      file.close();
    }
  }

  /** Reads a chunk file of `size` bytes, as stat'ed before it was opened. */
  #readFile(file: Deno.FsFile, size: number, dir: string, path: string, id: ChunkId): ServedChunk {
    // A byte more than stat'ed for the big ones: a short read then tells the end.
    let pooled = size < POOLED_SIZE;
    let buffer = pooled
      ? this.#pool.pop() ?? new Uint8Array(POOLED_SIZE)
      : new Uint8Array(size + 1);
    let length = 0;
    for (;;) {
      const n = file.readSync(buffer.subarray(length));
      if (!n) break;
      length += n;
      // A regular file reads short only at its end (chunk files are renamed into place whole),
      // so a short read saves the extra read that would return nothing.
      if (length < buffer.length) break;
      // Longer than stat'ed (replaced meanwhile): read on, within the bound.
      if (length > MAX_CHUNK_FILE_SIZE) {
        if (pooled) this.#pool.push(buffer);
        throw new ChunkInvalid(id, dir, `${path} is larger than ${MAX_CHUNK_FILE_SIZE} bytes`);
      }
      const bigger = new Uint8Array(Math.min(buffer.length * 2, MAX_CHUNK_FILE_SIZE + 1));
      bigger.set(buffer);
      if (pooled) this.#pool.push(buffer);
      buffer = bigger;
      pooled = false;
    }
    const pool = this.#pool;
    return {
      body: buffer.subarray(0, length),
      release: () => {
        if (pooled && pool.length < POOL_MAX) pool.push(buffer);
        pooled = false;
      },
    };
  }

  #fetch(id: ChunkId, signal?: AbortSignal): Promise<Chunk> {
    let fetching = this.#fetching.get(id);
    if (!fetching) {
      // Shared by every request for this chunk, so one client going away must not cancel it.
      fetching = this.#options.chain.getChunk(id).finally(() => this.#fetching.delete(id));
      this.#fetching.set(id, fetching);
    }
    return untilAborted(fetching, signal);
  }

  /** The error naming the chunk's file when it came from a local directory of the chain. */
  #naming(error: ChunkInvalid, id: ChunkId): ChunkInvalid {
    if (!this.#options.chainDirs?.includes(error.store)) return error;
    const detail = `${chunkFileIn(error.store, id)}: ${error.detail}`;
    return new ChunkInvalid(error.id, error.store, detail);
  }

  #path(dir: string, id: ChunkId): string {
    return `${dir}/${chunkKey(id, this.#options.uncompressed)}`;
  }
}

function doNothing() {}

/** The file a local store reads for a chunk: `<id>.cacnk`, else a plain `<id>` found instead. */
function chunkFileIn(dir: string, id: ChunkId): string {
  const base = dir.replace(/\/+$/, "") || "/";
  const compressed = `${base}/${chunkKey(id, false)}`;
  const plain = `${base}/${chunkKey(id, true)}`;
  try {
    Deno.lstatSync(compressed);
  } catch {
    try {
      Deno.lstatSync(plain);
      return plain;
    } catch {
      // Neither is there (any more): the one it would be.
    }
  }
  return compressed;
}

/** The largest chunk file served: anything longer is no chunk (casync's largest, compressed). */
const MAX_CHUNK_FILE_SIZE = maxStoredChunkSize(CHUNK_SIZE_LIMIT);

/**
 * The chunk file's stat, undefined when there is none; a non-regular entry (a
 * FIFO, a directory, a device: nothing a client may be sent) or one too large
 * to be a chunk is ChunkInvalid.
 */
function regularFileInfo(dir: string, path: string, id: ChunkId): Deno.FileInfo | undefined {
  try {
    return statRegularFileSync(path, MAX_CHUNK_FILE_SIZE);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (error instanceof UnfitFile) {
      throw new ChunkInvalid(id, dir, `${path} is ${error.what()}, not a chunk file`);
    }
    throw error;
  }
}
