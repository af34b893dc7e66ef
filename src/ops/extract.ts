/**
 * extract: assemble a blob from its index, taking each chunk from the cheapest
 * source that has it, in this order: nothing at all (all-zero chunks are holes
 * in a fresh file), the output itself (in place, `-k`), seeds with an index,
 * files chunked on the fly (the existing output, plain-file seeds), and last
 * the stores. A chunk that repeats is obtained once and written at every
 * offset. Every byte written was hashed against its chunk ID by the worker
 * that wrote it.
 *
 * Without `inPlace`, the blob is written into a pre-sized temporary file that
 * is renamed over the output when complete; with it, straight into the output,
 * so an interrupted run leaves a file the next run finishes.
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { chunkerParams } from "../chunk/chunker.ts";
import { DesyncError, UsageError } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import { hashChunk } from "../chunk/digest.ts";
import { digestOf, type Index, type IndexChunk, indexLength } from "../format/index.ts";
import type { Store } from "../store/store.ts";
import { describeFsError, statOutput, writeAtomically } from "../util/fs.ts";
import { formatBytes, progressBar } from "../util/progress.ts";
import { ChunkNeeds, type Need } from "./chunk_needs.ts";
import {
  chunksInPlace,
  type ChunkSource,
  type CopyContext,
  copyFromFileSeed,
  copyFromKnownSeeds,
  type KnownSeed,
} from "./copy_seeds.ts";
import { fetchNeeded } from "./fetch_chunks.ts";
import type { InvalidSeedPolicy, Seed } from "./seeds.ts";

export interface ExtractOptions {
  index: Index;
  store: Store;
  output: string;
  codec: CodecPool;
  concurrency: number;
  /** Seeds to copy chunks from, in order (see seeds.ts: resolveSeeds). */
  seeds?: readonly Seed[];
  /** Write straight into the output, keeping the chunks already in place. */
  inPlace?: boolean;
  invalidSeeds?: InvalidSeedPolicy;
  signal?: AbortSignal;
  progress?: boolean;
}

export interface Tally {
  chunks: number;
  bytes: number;
}

/** Where the chunks of the blob came from; each chunk of the index is counted once. */
export interface ExtractStats {
  chunks: number;
  bytes: number;
  /** Seeds (the output included) that supplied at least one chunk. */
  seedsUsed: number;
  /** All-zero chunks, left as holes or written as zeros. */
  zero: Tally;
  /** Already correct at their offset in the output (in-place extraction). */
  inPlace: Tally;
  /** Copied from --seed / --seed-dir seeds. */
  seeds: Tally;
  /** Copied from the existing output, used as a seed. */
  output: Tally;
  /** Further copies of a chunk that repeats in the blob. */
  selfSeed: Tally;
  /** Fetched from the stores (or the cache). */
  stores: Tally;
}

const SOURCES: readonly ChunkSource[] = ["zero", "inPlace", "seed", "output", "selfSeed", "store"];
const STATS_KEY = {
  zero: "zero",
  inPlace: "inPlace",
  seed: "seeds",
  output: "output",
  selfSeed: "selfSeed",
  store: "stores",
} as const satisfies Record<ChunkSource, keyof ExtractStats>;

export async function extract(options: ExtractOptions): Promise<ExtractStats> {
  const { index, codec } = options;
  const length = indexLength(index);
  const tally = () => ({ chunks: 0, bytes: 0 });
  const stats: ExtractStats = {
    chunks: index.chunks.length,
    bytes: length,
    seedsUsed: 0,
    zero: tally(),
    inPlace: tally(),
    seeds: tally(),
    output: tally(),
    selfSeed: tally(),
    stores: tally(),
  };
  const usedSeeds = new Set<string>();
  const progress = progressBar("extract", length, {
    enabled: options.progress,
    detail: () => sourcesLine(stats),
    chunks: index.chunks.length,
  });
  const count = (source: ChunkSource, chunks: number, size: number) => {
    const entry = stats[STATS_KEY[source]];
    entry.chunks += chunks;
    entry.bytes += chunks * size;
    progress.add(chunks * size, chunks);
  };
  try {
    // Hashed by a worker while this thread opens and sizes the output.
    const zeroIdsHashed = zeroChunkIds(index, codec);
    zeroIdsHashed.catch(() => {});
    const assemble = async (output: string, existingSize: number) => {
      const context: CopyContext = {
        codec,
        digest: digestOf(index),
        output,
        needs: new ChunkNeeds(),
        signal: options.signal,
        filled(need: Need, source: ChunkSource, seed?: string) {
          if (seed !== undefined && (source === "seed" || source === "output")) {
            usedSeeds.add(seed);
            stats.seedsUsed = usedSeeds.size;
          }
          if (source === "store") {
            count("store", 1, need.size);
            count("selfSeed", need.offsets.length - 1, need.size);
          } else {
            count(source, need.offsets.length, need.size);
          }
        },
      };
      try {
        await assembleFrom(context, options, zeroIdsHashed, existingSize, count);
      } finally {
        await codec.closeFiles();
      }
    };
    if (options.inPlace) {
      const existingSize = await prepareInPlace(options.output, length);
      await assemble(options.output, existingSize);
    } else {
      await writeAtomically(options.output, async (file, temp) => {
        await file.truncate(length);
        await assemble(temp, 0);
        const written = (await file.stat()).size;
        if (written !== length) {
          throw new DesyncError(`${temp}: wrote ${written} bytes, the index describes ${length}`);
        }
      });
    }
  } finally {
    progress.done();
  }
  return stats;
}

/** Runs the sources in order against the file at `context.output`. */
async function assembleFrom(
  context: CopyContext,
  options: ExtractOptions,
  zeroIdsHashed: Promise<Map<number, ChunkId>>,
  existingSize: number,
  count: (source: ChunkSource, chunks: number, size: number) => void,
) {
  const { index, codec } = options;
  const digest = context.digest;
  let inPlace: IndexChunk[] = [];
  if (options.inPlace && existingSize > 0) {
    const candidates = index.chunks.filter((chunk) => chunk.start + chunk.size <= existingSize);
    inPlace = await chunksInPlace(codec, context.output, candidates, digest, options.signal);
    for (const chunk of inPlace) count("inPlace", 1, chunk.size);
  }
  const done = new Set(inPlace.map((chunk) => chunk.start));
  // Chunks of a size an all-zero chunk can have wait for the zero IDs; the others are listed
  // while a worker hashes those.
  const zeroSizes = zeroChunkSizes(index);
  const maybeZero: IndexChunk[] = [];
  for (const chunk of index.chunks) {
    if (done.has(chunk.start)) continue;
    if (zeroSizes.has(chunk.size)) maybeZero.push(chunk);
    else context.needs.add(chunk.id, chunk.size, chunk.start);
  }
  const zeroIds = await zeroIdsHashed;
  const zeros = new Map<number, number[]>();
  for (const chunk of maybeZero) {
    if (zeroIds.get(chunk.size) === chunk.id) {
      // A fresh file, or the part of one in place that was just extended, reads as zeros
      // there (a hole); what was there before may not.
      if (options.inPlace && chunk.start < existingSize) {
        const offsets = zeros.get(chunk.size);
        if (offsets) offsets.push(chunk.start);
        else zeros.set(chunk.size, [chunk.start]);
      } else {
        count("zero", 1, chunk.size);
      }
    } else {
      context.needs.add(chunk.id, chunk.size, chunk.start);
    }
  }
  for (const [size, offsets] of zeros) {
    await codec.place({ data: new Uint8Array(size), output: context.output, offsets });
    count("zero", offsets.length, size);
  }

  const seeds = options.seeds ?? [];
  const known: KnownSeed[] = [];
  if (inPlace.length > 0) {
    // Chunks found in place are a seed for the other offsets of the same chunk.
    known.push({
      name: options.output,
      dataPath: context.output,
      chunks: inPlace,
      source: "selfSeed",
      strict: false,
    });
  }
  for (const seed of seeds) {
    if (seed.kind !== "index") continue;
    known.push({
      name: seed.name,
      dataPath: seed.dataPath,
      chunks: seed.index!.chunks,
      source: "seed",
      strict: true,
      seed,
    });
  }
  const regenerate = known.length > 0 && context.needs.count > 0
    ? await copyFromKnownSeeds(context, index.chunks, known, options.invalidSeeds ?? "fail")
    : [];
  // The existing output first among the files to chunk: after an interruption it holds most.
  const fileSeeds = [
    ...seeds.filter((seed) => seed.kind === "output"),
    ...seeds.filter((seed) => seed.kind === "file"),
    ...regenerate,
  ];
  if (fileSeeds.length > 0 && context.needs.count > 0) {
    const params = chunkingParams(index);
    for (const seed of fileSeeds) await copyFromFileSeed(context, seed, params);
  }
  if (context.needs.count > 0) await fetchNeeded(context, options.store, options.concurrency);
}

function chunkingParams(index: Index) {
  try {
    return chunkerParams(index.chunkSizeMin, index.chunkSizeAvg, index.chunkSizeMax);
  } catch (error) {
    throw new DesyncError(
      `cannot chunk seed files with this index's chunk sizes: ${(error as Error).message}`,
    );
  }
}

/**
 * Opens (creating if needed) the output for in-place extraction and sizes it;
 * returns how many bytes of it existed before.
 */
async function prepareInPlace(output: string, length: number): Promise<number> {
  const info = await statOutput(output);
  if (info && !info.isFile && !info.isBlockDevice) {
    // Never open a FIFO or terminal here: opening one could block, and nothing could be kept.
    throw new UsageError(`${output}: --in-place needs a regular file or a block device`);
  }
  try {
    using file = await Deno.open(output, { read: true, write: true, create: !info });
    if (info?.isBlockDevice) {
      const size = await file.seek(0, Deno.SeekMode.End);
      if (size < length) {
        throw new DesyncError(`${output}: the device holds ${size} bytes, the blob is ${length}`);
      }
      return size;
    }
    const existing = info?.size ?? 0;
    await file.truncate(length);
    return Math.min(existing, length);
  } catch (error) {
    if (error instanceof DesyncError) throw error;
    throw new DesyncError(`${output}: cannot open for writing: ${describeFsError(error)}`, {
      cause: error,
    });
  }
}

function sourcesLine(stats: ExtractStats): string {
  const parts: string[] = [];
  for (const source of SOURCES) {
    const { bytes } = stats[STATS_KEY[source]];
    if (bytes > 0) parts.push(`${source === "store" ? "stores" : source} ${formatBytes(bytes)}`);
  }
  return parts.join(", ");
}

/** The sizes zeroChunkIds hashes zeros of: the only sizes an all-zero chunk can have here. */
function zeroChunkSizes(index: Index): Set<number> {
  const sizes = new Set<number>();
  const last = index.chunks.at(-1);
  if (last) sizes.add(last.size);
  if (index.chunks.some((chunk) => chunk.size === index.chunkSizeMax)) {
    sizes.add(index.chunkSizeMax);
  }
  return sizes;
}

/**
 * IDs of all-zero chunks of the sizes zero runs produce: runs of zeros have no
 * boundaries, so they are cut at the maximum size, plus whatever the blob ends with.
 * The maximum only when a chunk has it: the header alone may say 128 MiB.
 * Hashed by a worker of `codec` when there is one (see CodecPool.hashInWorker).
 */
export async function zeroChunkIds(
  index: Index,
  codec?: CodecPool,
): Promise<Map<number, ChunkId>> {
  const sizes = zeroChunkSizes(index);
  const digest = digestOf(index);
  const hash = (size: number) => {
    const zeros = new Uint8Array(size);
    return codec ? codec.hashInWorker(zeros, digest) : hashChunk(zeros, digest);
  };
  const ordered = [...sizes];
  const ids = await Promise.all(ordered.map(hash));
  return new Map(ordered.map((size, i) => [size, ids[i]]));
}
