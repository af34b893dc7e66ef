/**
 * A chunk store in a local directory: `<dir>/<first 4 hex>/<id>.cacnk`, each file
 * one zstd frame. Writes go to a temporary file in the same directory and are
 * renamed into place, so no reader ever sees a partial chunk.
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { ChunkMissing, StoreError } from "../errors.ts";
import { decodeStoredChunk } from "./decode.ts";
import { storedForm } from "./encode.ts";
import { type ChunkId, isChunkId } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";
import type {
  Chunk,
  ChunkFileStore,
  PruneStore,
  StorableChunk,
  TouchStore,
  WriteStore,
} from "./store.ts";
import { describeFsError, tempName } from "../util/fs.ts";

export const CHUNK_SUFFIX = ".cacnk";

export interface LocalStoreOptions {
  codec: CodecPool;
  /** Digests a chunk may hash to; the index decides, verify accepts either. */
  digests: readonly Digest[];
  /** Create the directory when it is missing (cache and write targets). */
  create?: boolean;
  /** Write chunks as plain `<id>` files (Go desync's uncompressed stores), not `<id>.cacnk`. */
  uncompressed?: boolean;
}

export class LocalStore implements WriteStore, PruneStore, TouchStore, ChunkFileStore {
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

  async getChunk(id: ChunkId): Promise<Chunk> {
    // Both forms are read; the one this store writes is looked for first.
    for (const compressed of this.#uncompressed ? [false, true] : [true, false]) {
      let data: Uint8Array;
      try {
        data = await Deno.readFile(
          compressed ? this.chunkPath(id) : uncompressedPath(this.chunkPath(id)),
        );
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        throw new StoreError(this.name, `reading chunk ${id}: ${describeFsError(error)}`, {
          cause: error,
        });
      }
      return await decodeStoredChunk(this.#codec, this.name, id, this.#digests, {
        data,
        compressed,
      });
    }
    throw new ChunkMissing(id, this.name);
  }

  async hasChunk(id: ChunkId): Promise<boolean> {
    for (const path of [this.chunkPath(id), uncompressedPath(this.chunkPath(id))]) {
      try {
        if ((await Deno.stat(path)).isFile) return true;
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
    try {
      if (!this.#madeDirs.has(dir)) {
        await Deno.mkdir(dir, { recursive: true });
        this.#madeDirs.add(dir);
      }
      await Deno.writeFile(temp, data);
      await Deno.rename(temp, path);
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw new StoreError(this.name, `writing chunk ${chunk.id}: ${describeFsError(error)}`, {
        cause: error,
      });
    }
  }

  async touchChunk(id: ChunkId): Promise<void> {
    const now = new Date();
    await Deno.utime(this.chunkPath(id), now, now).catch(() => {});
  }

  async *listChunks(): AsyncIterable<ChunkId> {
    // Synchronous listing per directory: Deno's async readDir costs ~5x more per
    // entry, and a prefix directory is small, so the event loop is barely held.
    try {
      for (const prefix of Deno.readDirSync(this.#dir)) {
        if (!prefix.isDirectory || !/^[0-9a-f]{4}$/.test(prefix.name)) continue;
        const ids: ChunkId[] = [];
        for (const entry of Deno.readDirSync(`${this.#dir}/${prefix.name}`)) {
          if (!entry.isFile) continue;
          // Compressed `<id>.cacnk`, or Go desync's uncompressed `<id>`.
          const id = entry.name.endsWith(CHUNK_SUFFIX)
            ? entry.name.slice(0, -CHUNK_SUFFIX.length)
            : entry.name;
          if (isChunkId(id) && id.startsWith(prefix.name)) ids.push(id);
        }
        yield* new Set(ids);
      }
    } catch (error) {
      throw new StoreError(this.name, `listing chunks: ${describeFsError(error)}`, {
        cause: error,
      });
    }
  }

  async removeChunk(id: ChunkId): Promise<void> {
    for (const path of [this.chunkPath(id), uncompressedPath(this.chunkPath(id))]) {
      try {
        await Deno.remove(path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) {
          throw new StoreError(this.name, `removing chunk ${id}: ${describeFsError(error)}`, {
            cause: error,
          });
        }
      }
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Go desync's uncompressed stores keep a chunk's plain bytes under its bare ID;
 * they are read (and listed, verified, removed) alongside compressed ones.
 */
export function uncompressedPath(chunkPath: string): string {
  return chunkPath.slice(0, -CHUNK_SUFFIX.length);
}

/** Where a chunk lives in a local store directory. */
export function chunkFilePath(dir: string, id: ChunkId): string {
  return `${dir}/${id.slice(0, 4)}/${id}${CHUNK_SUFFIX}`;
}

/**
 * Writes a compressed chunk into a store directory unless it is already there
 * (synchronous: for codec workers). Returns whether it wrote the file.
 */
export function writeChunkFileSync(
  dir: string,
  id: ChunkId,
  compressed: () => Uint8Array,
): boolean {
  const path = chunkFilePath(dir, id);
  try {
    if (Deno.statSync(path).isFile) return false;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  const temp = tempName(path);
  try {
    Deno.writeFileSync(temp, compressed());
    Deno.renameSync(temp, path);
  } catch (error) {
    try {
      Deno.removeSync(temp);
    } catch {
      // nothing was written
    }
    throw error;
  }
  return true;
}
