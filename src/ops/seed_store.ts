/**
 * Seeds seen as a read-only store, for commands that read chunks one at a
 * time in order (cat) or only ask what is there (info). extract does not use
 * this: it copies from seeds in large worker batches (copy_seeds.ts).
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { chunkerParams } from "../chunk/chunker.ts";
import { ChunkMissing } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import { digestOf, type Index } from "../format/index.ts";
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

  private constructor(
    readonly codec: CodecPool,
    readonly digest: ReturnType<typeof digestOf>,
    readonly policy: InvalidSeedPolicy,
  ) {}

  /** Finds where the seeds hold the target's chunks (file seeds are chunked and hashed). */
  static async open(
    seeds: readonly Seed[],
    target: Index,
    codec: CodecPool,
    policy: InvalidSeedPolicy = "fail",
    signal?: AbortSignal,
  ): Promise<SeedStore> {
    const store = new SeedStore(codec, digestOf(target), policy);
    const wanted = new Set(target.chunks.map((chunk) => chunk.id));
    const sizes = new Set(target.chunks.map((chunk) => chunk.size));
    for (const seed of seeds) {
      const chunks = seed.kind === "index" ? seed.index!.chunks : await indexFileSeed(
        codec,
        seed,
        chunkerParams(target.chunkSizeMin, target.chunkSizeAvg, target.chunkSizeMax),
        store.digest,
        sizes,
        signal,
      );
      for (const chunk of chunks) {
        if (!wanted.has(chunk.id) || store.#locations.has(chunk.id)) continue;
        store.#locations.set(chunk.id, { seed, at: chunk.start, size: chunk.size });
      }
    }
    return store;
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
    const location = this.#locations.get(id);
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
    this.#dropped.add(seed);
    throw new ChunkMissing(id, this.name);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
