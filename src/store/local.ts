/**
 * A chunk store in a local directory: `<dir>/<first 4 hex>/<id>.cacnk`, each file
 * one zstd frame. Writes go to a temporary file in the same directory and are
 * renamed into place, so no reader ever sees a partial chunk.
 */
import { type CodecPool, MISSING } from "../chunk/codec_pool.ts";
import { ChunkInvalid, ChunkMissing, StoreError } from "../errors.ts";
import { storedForm } from "./encode.ts";
import { type ChunkId, isChunkId } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";
import {
  type Chunk,
  type ChunkFileStore,
  type ChunkWant,
  type PruneStore,
  type RawChunk,
  type RawChunkStore,
  type StorableChunk,
  type TouchStore,
  type WriteStore,
} from "./store.ts";
import { describeFsError, kindOf, tempName } from "../util/fs.ts";
import { readRegularFile, UnfitFile } from "../util/regular_file.ts";
import {
  CHUNK_SIZE_LIMIT,
  CHUNK_SUFFIX,
  chunkFilePath,
  maxStoredChunkSize,
  uncompressedPath,
} from "../format/store_layout.ts";
import { chunkWriteError, isChunkFile } from "../chunk/store_files.ts";

export interface LocalStoreOptions {
  codec: CodecPool;
  /** Digests a chunk may hash to; the index decides, verify accepts either. */
  digests: readonly Digest[];
  /** Create the directory when it is missing (cache and write targets). */
  create?: boolean;
  /** Write chunks as plain `<id>` files (Go desync's uncompressed stores), not `<id>.cacnk`. */
  uncompressed?: boolean;
}

/** The largest chunk file read: anything longer is no chunk (casync's largest, compressed). */
const MAX_CHUNK_FILE_SIZE = maxStoredChunkSize(CHUNK_SIZE_LIMIT);

export class LocalStore
  implements WriteStore, PruneStore, TouchStore, ChunkFileStore, RawChunkStore {
  readonly name: string;
  readonly #dir: string;
  readonly #codec: CodecPool;
  readonly #digests: readonly Digest[];
  readonly #madeDirs = new Set<string>();
  readonly #uncompressed: boolean;

  private constructor(dir: string, options: LocalStoreOptions) {
    this.name = dir;
    this.#dir = dir.replace(/\/+$/, "") || "/";
    this.#codec = options.codec;
    this.#digests = options.digests;
    this.#uncompressed = options.uncompressed ?? false;
  }

  /** Opens a store directory; it must exist unless `create` is set. */
  static async open(dir: string, options: LocalStoreOptions): Promise<LocalStore> {
    try {
      if (options.create) await Deno.mkdir(dir, { recursive: true });
      const info = await Deno.stat(dir);
      if (!info.isDirectory) throw new StoreError(dir, "not a directory");
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError(dir, describeFsError(error), { cause: error });
    }
    return new LocalStore(dir, options);
  }

  get dir(): string {
    return this.#dir;
  }

  /** Whether new chunks are written uncompressed (workers' fast paths write `.cacnk` only). */
  get uncompressed(): boolean {
    return this.#uncompressed;
  }

  /** The digests a chunk may hash to. */
  get digests(): readonly Digest[] {
    return this.#digests;
  }

  chunkPath(id: ChunkId): string {
    return chunkFilePath(this.#dir, id);
  }

  /** Read, decoded and verified by a codec lane, which also does the file I/O. */
  async getChunk(id: ChunkId, _signal?: AbortSignal, want?: ChunkWant): Promise<Chunk> {
    const found = await this.#codec.readChunk({
      path: this.chunkPath(id),
      id,
      digests: this.#digests,
      maxBytes: MAX_CHUNK_FILE_SIZE,
      plainOnly: want?.plainOnly,
    });
    if (found === MISSING) throw new ChunkMissing(id, this.name);
    if ("invalid" in found) throw new ChunkInvalid(id, this.name, found.invalid);
    return { id, plain: found.plain, compressed: found.zstd };
  }

  /** The chunk file's bytes as stored, neither decoded nor verified. */
  async getRawChunk(id: ChunkId): Promise<RawChunk> {
    // Both forms are read; the one this store writes is looked for first.
    for (const compressed of this.#uncompressed ? [false, true] : [true, false]) {
      const path = compressed ? this.chunkPath(id) : uncompressedPath(this.chunkPath(id));
      try {
        // Only regular files: reading a FIFO would wait for a writer forever, and a huge
        // file is no chunk.
        const data = await readRegularFile(path, MAX_CHUNK_FILE_SIZE);
        return { data, compressed, ownsBuffer: true };
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        if (error instanceof UnfitFile) {
          const detail = `${path} is ${error.what()}, not a chunk file`;
          throw new ChunkInvalid(id, this.name, detail);
        }
        throw new StoreError(this.name, `reading chunk ${id}: ${describeFsError(error)}`, {
          cause: error,
        });
      }
    }
    throw new ChunkMissing(id, this.name);
  }

  async hasChunk(id: ChunkId): Promise<boolean> {
    for (const path of [this.chunkPath(id), uncompressedPath(this.chunkPath(id))]) {
      try {
        if (isChunkFile(await Deno.stat(path))) return true;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) {
          throw new StoreError(this.name, describeFsError(error), { cause: error });
        }
      }
    }
    return false;
  }

  async storeChunk(chunk: StorableChunk): Promise<void> {
    const data = await storedForm(
      this.#codec,
      this.name,
      chunk,
      this.#uncompressed,
      this.#digests,
    );
    const path = this.#uncompressed
      ? uncompressedPath(this.chunkPath(chunk.id))
      : this.chunkPath(chunk.id);
    const dir = path.slice(0, path.lastIndexOf("/"));
    const temp = tempName(path);
    let step = `create directory ${dir}`;
    try {
      if (!this.#madeDirs.has(dir)) {
        await Deno.mkdir(dir, { recursive: true });
        this.#madeDirs.add(dir);
      }
      step = `write ${temp}`;
      await Deno.writeFile(temp, data);
      step = `rename ${temp} to ${path}`;
      await Deno.rename(temp, path);
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw chunkWriteError(this.name, chunk.id, step, error);
    }
  }

  /** Marks a chunk as used now (prune spares it): the form this store writes, else the other. */
  async touchChunk(id: ChunkId): Promise<void> {
    const now = new Date();
    const compressed = this.chunkPath(id);
    const [first, second] = this.uncompressed
      ? [uncompressedPath(compressed), compressed]
      : [compressed, uncompressedPath(compressed)];
    await Deno.utime(first, now, now).catch(() => Deno.utime(second, now, now)).catch(() => {});
  }

  async *listChunks(): AsyncIterable<ChunkId> {
    for await (const entries of this.entries()) {
      yield* new Set(entries.filter((entry) => entry.problem === undefined).map((e) => e.id));
    }
  }

  /**
   * Every entry named like a chunk, one prefix directory at a time: chunk
   * files (compressed `<id>.cacnk`, or Go desync's uncompressed `<id>`), and
   * what extract would trip over under such a name (a directory, a FIFO, a
   * symbolic link that dangles or leads out of the store), with the problem.
   */
  async *entries(): AsyncIterable<StoreEntry[]> {
    // Synchronous listing per directory: Deno's async readDir costs ~5x more per
    // entry, and a prefix directory is small, so the event loop is barely held.
    let root: string | undefined;
    try {
      for (const prefix of Deno.readDirSync(this.#dir)) {
        if (!prefix.isDirectory || !/^[0-9a-f]{4}$/.test(prefix.name)) continue;
        const entries: StoreEntry[] = [];
        for (const entry of Deno.readDirSync(`${this.#dir}/${prefix.name}`)) {
          const id = entry.name.endsWith(CHUNK_SUFFIX)
            ? entry.name.slice(0, -CHUNK_SUFFIX.length)
            : entry.name;
          if (!isChunkId(id) || !id.startsWith(prefix.name)) continue;
          const path = `${this.#dir}/${prefix.name}/${entry.name}`;
          if (entry.isFile) {
            entries.push({ id, path });
          } else {
            root ??= Deno.realPathSync(this.#dir);
            entries.push({ id, path, problem: entryProblem(path, entry, root) });
          }
        }
        yield entries;
      }
    } catch (error) {
      throw new StoreError(this.name, `listing chunks: ${describeFsError(error)}`, {
        cause: error,
      });
    }
  }

  /** Removes a store entry that is not a chunk file (a directory goes with its contents). */
  async removeEntry(path: string): Promise<void> {
    try {
      await Deno.remove(path, { recursive: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        throw new StoreError(this.name, `removing ${path}: ${describeFsError(error)}`, {
          cause: error,
        });
      }
    }
  }

  /**
   * Removes a chunk's files (both forms, or with `firstFormOnly` the one a read
   * finds first) and returns true, or false when it stays (used since
   * `unlessUsedSince`). Only regular files go (a symbolic link itself, never what
   * it leads to): a directory or FIFO under a chunk's name is no chunk file, and
   * is left alone.
   */
  async removeChunk(
    id: ChunkId,
    options: { unlessUsedSince?: Date; firstFormOnly?: boolean } = {},
  ): Promise<boolean> {
    const since = options.unlessUsedSince?.getTime();
    for (const path of [this.chunkPath(id), uncompressedPath(this.chunkPath(id))]) {
      let step = `stat ${path}`;
      try {
        const info = await Deno.stat(path);
        if (!info.isFile) {
          if (options.firstFormOnly) return false;
          continue;
        }
        // A chunk a concurrent make wrote or reused after prune began is no longer unused.
        if (since !== undefined && (info.mtime?.getTime() ?? 0) >= since) return false;
        step = `remove ${path}`;
        await Deno.remove(path);
        if (options.firstFormOnly) return true;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) {
          const detail = `removing chunk ${id}: cannot ${step}: ${describeFsError(error)}`;
          throw new StoreError(this.name, detail, { cause: error });
        }
      }
    }
    return true;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** An entry of a store directory named like a chunk; `problem` when it is no chunk file. */
export interface StoreEntry {
  id: ChunkId;
  path: string;
  problem?: string;
}

/**
 * Why a chunk-named entry that is not a regular file cannot serve as one, or
 * undefined for a symbolic link to a chunk file inside the store (`root`).
 */
function entryProblem(path: string, entry: Deno.DirEntry, root: string): string | undefined {
  if (!entry.isSymlink) {
    return `${path} is ${kindOf(Deno.lstatSync(path))}, not a chunk file`;
  }
  let target: string;
  try {
    target = Deno.realPathSync(path);
  } catch {
    return `${path} is a symbolic link that leads nowhere`;
  }
  if (!target.startsWith(`${root}/`)) {
    return `${path} is a symbolic link to ${target}, outside the store`;
  }
  const info = Deno.statSync(target);
  return info.isFile
    ? undefined
    : `${path} is a symbolic link to ${kindOf(info)}, not a chunk file`;
}
