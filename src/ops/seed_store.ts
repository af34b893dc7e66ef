/**
 * Seeds seen as a read-only store, for commands that read chunks one at a
 * time in order (cat) or only ask what is there (info). extract does not use
 * this: it copies from seeds in large worker batches (copy_seeds.ts).
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { chunkerParams } from "../chunk/chunker.ts";
import { ChunkMissing } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import { digestOf, type Index, type IndexChunk } from "../format/index.ts";
import type { Chunk, Store } from "../store/store.ts";
import { describeFsError } from "../util/fs.ts";
import { indexFileSeed } from "./copy_seeds.ts";
import { type InvalidSeedPolicy, type Seed, SeedError } from "./seeds.ts";

interface Location {
  seed: Seed;
  at: number;
  size: number;
}

export class SeedStore implements Store {
  readonly name = "seeds";
  readonly #locations = new Map<ChunkId, Location>();
  readonly #dropped = new Set<Seed>();
  /** Index seeds being re-chunked (the "regenerate" policy), so each is re-chunked once. */
  readonly #regenerated = new Map<Seed, Promise<void>>();
  readonly digest: ReturnType<typeof digestOf>;
  readonly #wanted: ReadonlySet<ChunkId>;
  readonly #sizes: ReadonlySet<number>;

  private constructor(
    readonly codec: CodecPool,
    readonly target: Index,
    readonly policy: InvalidSeedPolicy,
    readonly signal?: AbortSignal,
  ) {
    this.digest = digestOf(target);
    this.#wanted = new Set(target.chunks.map((chunk) => chunk.id));
    this.#sizes = new Set(target.chunks.map((chunk) => chunk.size));
  }

  /** Finds where the seeds hold the target's chunks (file seeds are chunked and hashed). */
  static async open(
    seeds: readonly Seed[],
    target: Index,
    codec: CodecPool,
    policy: InvalidSeedPolicy = "fail",
    signal?: AbortSignal,
  ): Promise<SeedStore> {
    const store = new SeedStore(codec, target, policy, signal);
    for (const seed of seeds) {
      const chunks = seed.kind === "index" ? seed.index!.chunks : await store.#chunksOfFile(seed);
      store.#locate(seed, chunks);
    }
    return store;
  }

  /** A file seed's chunks among the target's sizes: its data cut the target's way and hashed. */
  #chunksOfFile(seed: Seed): Promise<IndexChunk[]> {
    const { chunkSizeMin, chunkSizeAvg, chunkSizeMax } = this.target;
    const params = chunkerParams(chunkSizeMin, chunkSizeAvg, chunkSizeMax);
    return indexFileSeed(this.codec, seed, params, this.digest, this.#sizes, this.signal);
  }

  /** Records where `seed` holds wanted chunks that no seed (still in use) holds already. */
  #locate(seed: Seed, chunks: readonly IndexChunk[]) {
    for (const chunk of chunks) {
      if (!this.#wanted.has(chunk.id)) continue;
      const known = this.#locations.get(chunk.id);
      if (known && !this.#dropped.has(known.seed)) continue;
      this.#locations.set(chunk.id, { seed, at: chunk.start, size: chunk.size });
    }
  }

  /** Drops an index seed found invalid and uses its data as a file seed instead. */
  #regenerate(seed: Seed): Promise<void> {
    let done = this.#regenerated.get(seed);
    if (!done) {
      this.#dropped.add(seed);
      const asFile: Seed = { ...seed, kind: "file", index: undefined };
      done = this.#chunksOfFile(asFile).then((chunks) => this.#locate(asFile, chunks));
      this.#regenerated.set(seed, done);
    }
    return done;
  }

  /** How many distinct chunks of the target the seeds hold, and their bytes. */
  get held(): { chunks: number; bytes: number } {
    let bytes = 0;
    for (const location of this.#locations.values()) bytes += location.size;
    return { chunks: this.#locations.size, bytes };
  }

  hasChunk(id: ChunkId): Promise<boolean> {
    const location = this.#locations.get(id);
    return Promise.resolve(location !== undefined && !this.#dropped.has(location.seed));
  }

  async getChunk(id: ChunkId): Promise<Chunk> {
    let location = this.#locations.get(id);
    const regenerating = location && this.#regenerated.get(location.seed);
    if (regenerating) {
      // Its seed is being chunked anew (another read found it invalid): where is the chunk now?
      await regenerating;
      location = this.#locations.get(id);
    }
    if (!location || this.#dropped.has(location.seed)) throw new ChunkMissing(id, this.name);
    const { seed, at, size } = location;
    const plain = new Uint8Array(size);
    let got = 0;
    try {
      using file = await Deno.open(seed.dataPath, { read: true });
      await file.seek(at, Deno.SeekMode.Start);
      while (got < size) {
        const n = await file.read(plain.subarray(got));
        if (n === null) break;
        got += n;
      }
    } catch (error) {
      throw new SeedError(seed.name, `reading ${seed.dataPath}: ${describeFsError(error)}`, {
        cause: error,
      });
    }
    // File seeds were hashed when found, but may have changed since: check again.
    if (got === size && await this.codec.hash(plain, this.digest) === id) return { id, plain };
    if (seed.kind === "index" && this.policy === "fail") {
      throw new SeedError(
        seed.name,
        `chunk ${id} at offset ${at} does not match its data ${seed.dataPath} ` +
          `(changed since it was indexed? see --skip-invalid-seeds)`,
      );
    }
    if (seed.kind === "index" && this.policy === "regenerate") {
      await this.#regenerate(seed);
      // Now from the seed's data chunked anew (a file seed), or from elsewhere.
      return await this.getChunk(id);
    }
    this.#dropped.add(seed);
    throw new ChunkMissing(id, this.name);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
