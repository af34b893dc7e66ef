/**
 * The local sources of an extract: checking the output's own data in place,
 * and copying chunks from seeds. All the reading, hashing and writing happens
 * in the codec workers, in jobs of many adjacent ranges; the main thread plans
 * the ranges and keeps the list of what is still needed.
 */
import type { CodecPool, SeedItem } from "../chunk/codec_pool.ts";
import type { ChunkerParams } from "../chunk/chunker.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { Digest, IndexChunk } from "../format/index.ts";
import { forEachLimited } from "../util/tasks.ts";
import type { ChunkNeeds, Need } from "./chunk_needs.ts";
import { cutBlob, spansOf } from "./cut_blob.ts";
import { type InvalidSeedPolicy, type Seed, SeedError } from "./seeds.ts";

/** Where a written chunk came from, for the statistics. */
export type ChunkSource = "zero" | "inPlace" | "seed" | "output" | "selfSeed" | "store";

export interface CopyContext {
  codec: CodecPool;
  digest: Digest;
  /** The file being written. */
  output: string;
  needs: ChunkNeeds;
  /** Called once per chunk written, with every offset it was written at, and the seed's name. */
  filled(need: Need, source: ChunkSource, seed?: string): void;
  signal?: AbortSignal;
}

/** Bytes and ranges per worker job: large enough that messaging costs nothing. */
const JOB_BYTES = 8 << 20;
const JOB_ITEMS = 512;

/** Splits ranges (sorted by `at`) into worker jobs. */
function jobsOf(items: readonly SeedItem[]): SeedItem[][] {
  const jobs: SeedItem[][] = [];
  let job: SeedItem[] = [];
  let bytes = 0;
  for (const item of items) {
    if (job.length > 0 && (bytes + item.size > JOB_BYTES || job.length >= JOB_ITEMS)) {
      jobs.push(job);
      job = [];
      bytes = 0;
    }
    job.push(item);
    bytes += item.size;
  }
  if (job.length > 0) jobs.push(job);
  return jobs;
}

function parallelism(codec: CodecPool): number {
  return 2 * codec.size;
}

/**
 * Which of `chunks` the file at `path` already holds at their own offsets
 * (in-place extraction). Only reads; returns the chunks that match.
 */
export async function chunksInPlace(
  codec: CodecPool,
  path: string,
  chunks: readonly IndexChunk[],
  digest: Digest,
  signal?: AbortSignal,
): Promise<IndexChunk[]> {
  const byStart = new Map(chunks.map((chunk) => [chunk.start, chunk]));
  const items = chunks.map((chunk) => ({ at: chunk.start, size: chunk.size, id: chunk.id }));
  const found: IndexChunk[] = [];
  await forEachLimited(jobsOf(items), parallelism(codec), async (job) => {
    const hashes = await codec.seedCopy({ path, items: job, digest });
    hashes.forEach((hash, i) => {
      if (hash === job[i].id) found.push(byStart.get(job[i].at)!);
    });
  }, signal);
  return found.sort((a, b) => a.start - b.start);
}

/** A seed whose chunk IDs are known: an index seed, or the output's chunks found in place. */
export interface KnownSeed {
  readonly name: string;
  readonly dataPath: string;
  readonly chunks: readonly IndexChunk[];
  readonly source: ChunkSource;
  /** Whether a range that does not match its ID is the seed's fault (else it is just skipped). */
  readonly strict: boolean;
  /** The seed as the user gave it, to re-chunk it when it turns out invalid. */
  readonly seed?: Seed;
}

/**
 * Copies every needed chunk that the seeds hold, in long runs where the
 * target's chunks follow each other in a seed too. Returns the seeds to
 * re-chunk (with the "regenerate" policy, those found invalid).
 */
export async function copyFromKnownSeeds(
  context: CopyContext,
  target: readonly IndexChunk[],
  seeds: readonly KnownSeed[],
  policy: InvalidSeedPolicy,
): Promise<Seed[]> {
  const { codec, needs } = context;
  const plans = planKnownSeeds(target, seeds, needs);
  const dropped = new Set<number>();
  const regenerate: Seed[] = [];
  const jobs = plans.flatMap((items, s) => jobsOf(items).map((job) => ({ s, items: job })));
  await forEachLimited(jobs, parallelism(codec), async ({ s, items }) => {
    if (dropped.has(s)) return;
    const seed = seeds[s];
    const hashes = await codec.seedCopy({
      path: seed.dataPath,
      items,
      digest: context.digest,
      output: context.output,
    });
    hashes.forEach((hash, i) => {
      const item = items[i];
      if (hash === item.id) {
        const need = needs.take(item.id);
        if (need) context.filled(need, seed.source, seed.name);
        return;
      }
      if (!seed.strict || dropped.has(s)) return;
      if (policy === "fail") {
        const what = hash === null ? "lies past the end of" : "does not match";
        throw new SeedError(
          seed.name,
          `chunk ${item.id} at offset ${item.at} ${what} its data ${seed.dataPath} ` +
            `(changed since it was indexed? see --skip-invalid-seeds)`,
        );
      }
      dropped.add(s);
      if (policy === "regenerate" && seed.seed) {
        regenerate.push({ ...seed.seed, kind: "file", index: undefined });
      }
    });
  }, context.signal);
  return regenerate;
}

/**
 * For each seed, the ranges to copy. Walking the target in order, a chunk is
 * taken from the seed position right after the previous one when that fits
 * (so runs stay adjacent), else from its first occurrence in the first seed
 * that has it.
 */
function planKnownSeeds(
  target: readonly IndexChunk[],
  seeds: readonly KnownSeed[],
  needs: ChunkNeeds,
): SeedItem[][] {
  const first = new Map<ChunkId, { s: number; k: number }>();
  seeds.forEach((seed, s) => {
    seed.chunks.forEach((chunk, k) => {
      // The same ID with another size is a lie of one index or the other: never copied.
      if (needs.get(chunk.id)?.size === chunk.size && !first.has(chunk.id)) {
        first.set(chunk.id, { s, k });
      }
    });
  });
  const plans: SeedItem[][] = seeds.map(() => []);
  const planned = new Set<ChunkId>();
  let run: { s: number; k: number } | undefined;
  for (const chunk of target) {
    const need = needs.get(chunk.id);
    if (!need || planned.has(chunk.id)) continue;
    const next = run && seeds[run.s].chunks[run.k];
    let at = next && next.id === chunk.id && next.size === need.size ? run : first.get(chunk.id);
    if (!at) {
      run = undefined;
      continue;
    }
    at = { ...at };
    const from = seeds[at.s].chunks[at.k];
    plans[at.s].push({ at: from.start, size: from.size, id: chunk.id, offsets: need.offsets });
    planned.add(chunk.id);
    run = { s: at.s, k: at.k + 1 };
  }
  for (const plan of plans) plan.sort((a, b) => a.at - b.at);
  return plans;
}

/**
 * Copies needed chunks from a file without a usable index: it is cut with the
 * target's chunker parameters, and only ranges whose size some needed chunk
 * has are hashed (a match needs equal sizes), so most of a dissimilar file is
 * never hashed.
 */
export async function copyFromFileSeed(
  context: CopyContext,
  seed: Seed,
  params: ChunkerParams,
): Promise<void> {
  const { codec, needs } = context;
  if (needs.count === 0 || seed.size === 0) return;
  let jobs: SeedItem[][];
  try {
    jobs = await fileSeedJobs(codec, seed, params, (size) => needs.hasSize(size));
  } catch (error) {
    // The file changed under us (shrank, went away): it is no seed; others and the stores remain.
    // Any other failure (a read error, a dead worker) is the command's.
    if (context.signal?.aborted || !await changedSinceResolved(seed)) throw error;
    return;
  }
  const source: ChunkSource = seed.kind === "output" ? "output" : "seed";
  await forEachLimited(jobs, parallelism(codec), async (items) => {
    // Asked at the last moment, so chunks found meanwhile are not looked for again.
    const wanted = wantedOfSizes(needs, items);
    if (wanted.length === 0) return;
    const hashes = await codec.seedCopy({
      path: seed.dataPath,
      items,
      digest: context.digest,
      output: context.output,
      wanted,
    });
    for (const hash of hashes) {
      // Two jobs may both find a chunk the seed holds twice: same bytes, counted once.
      const need = hash === null ? undefined : needs.take(hash);
      if (need) context.filled(need, source, seed.name);
    }
  }, context.signal);
}

/**
 * A file seed cut with the target's chunker parameters: the ranges whose size
 * `hasSize` accepts (a match needs equal sizes), split into worker jobs.
 */
async function fileSeedJobs(
  codec: CodecPool,
  seed: Seed,
  params: ChunkerParams,
  hasSize: (size: number) => boolean,
): Promise<SeedItem[][]> {
  const cuts = await cutBlob(codec, seed.dataPath, seed.size, params);
  return jobsOf(
    spansOf(cuts).filter((span) => hasSize(span.size)).map((span) => ({
      at: span.start,
      size: span.size,
    })),
  );
}

/** Whether a seed's file is gone or has another size than when seeds were resolved. */
async function changedSinceResolved(seed: Seed): Promise<boolean> {
  try {
    const info = await Deno.stat(seed.dataPath);
    return info.isFile && info.size !== seed.size;
  } catch {
    return true;
  }
}

function wantedOfSizes(needs: ChunkNeeds, items: readonly SeedItem[]) {
  const sizes = new Set(items.map((item) => item.size));
  const wanted: { id: ChunkId; size: number; offsets: readonly number[] }[] = [];
  for (const size of sizes) {
    for (const id of needs.ofSize(size)) wanted.push({ id, size, offsets: needs.get(id)!.offsets });
  }
  return wanted;
}

/**
 * The chunk IDs a file seed holds among `sizes`, with where they are: for
 * commands that read seeds without writing (cat, info).
 */
export async function indexFileSeed(
  codec: CodecPool,
  seed: Seed,
  params: ChunkerParams,
  digest: Digest,
  sizes: ReadonlySet<number>,
  signal?: AbortSignal,
): Promise<IndexChunk[]> {
  if (seed.size === 0) return [];
  const jobs = await fileSeedJobs(codec, seed, params, (size) => sizes.has(size));
  const found: IndexChunk[] = [];
  await forEachLimited(jobs, parallelism(codec), async (items) => {
    const hashes = await codec.seedCopy({ path: seed.dataPath, items, digest });
    hashes.forEach((hash, i) => {
      if (hash !== null) found.push({ id: hash, start: items[i].at, size: items[i].size });
    });
  }, signal);
  return found.sort((a, b) => a.start - b.start);
}
