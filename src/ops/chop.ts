/**
 * chop: cut a blob at its index's boundaries, check every piece against the
 * index and store it. Pieces are read, hashed, compressed and (for local stores)
 * written by codec workers, at most `concurrency` at once: memory stays bounded.
 */
import { ChunkDataError } from "../chunk/errors.ts";
import type { CodecPool, PieceJob } from "../chunk/codec_pool.ts";
import { BlobMismatch } from "../errors.ts";
import { CHUNK_ID_SIZE, type ChunkId, chunkIdFromBytes } from "../format/chunk_id.ts";
import { digestOf, type Index, type IndexChunk, indexLength } from "../format/index.ts";
import { blobSize } from "../util/fs.ts";
import { workerStoreDir, type WriteStore } from "../store/store.ts";
import { progressBar } from "../util/progress.ts";
import { forEachLimited } from "../util/tasks.ts";
import { batchesOf } from "./make.ts";

export interface ChopOptions {
  index: Index;
  blob: string;
  store: WriteStore;
  codec: CodecPool;
  concurrency: number;
  signal?: AbortSignal;
  progress?: boolean;
  /** Chunks known to be in the store already (`--ignore`): neither read nor stored. */
  skip?: ReadonlySet<ChunkId>;
}

export interface ChopStats {
  chunks: number;
  stored: number;
  present: number;
}

export async function chop(options: ChopOptions): Promise<ChopStats> {
  const { index, blob, store, codec } = options;
  const digest = digestOf(index);
  const length = indexLength(index);
  await checkBlobSize(blob, length);
  const chunks = options.skip
    ? [...index.chunks.entries()].filter(([, chunk]) => !options.skip!.has(chunk.id))
    : index.chunks.entries();
  const stats: ChopStats = { chunks: index.chunks.length, stored: 0, present: 0 };
  const progress = progressBar("chop", length, {
    enabled: options.progress,
    chunks: index.chunks.length,
  });
  try {
    // A local store of zstd files is written by the lanes themselves, a run of pieces a job.
    const storeDir = workerStoreDir(store);
    if (storeDir !== undefined) {
      await chopIntoDir({ ...options, chunks: [...chunks] }, storeDir, stats, progress);
      return stats;
    }
    // Any other store: a lane checks and compresses each piece (only checks a
    // repeat), and this thread stores it.
    const seen = new Set<ChunkId>();
    try {
      await forEachLimited(
        chunks,
        options.concurrency,
        async ([i, chunk], signal) => {
          const first = !seen.has(chunk.id);
          seen.add(chunk.id);
          const mode: PieceJob["mode"] = first ? "encode" : "hash";
          const job = { path: blob, offset: chunk.start, size: chunk.size, digest, mode };
          let result;
          try {
            result = await codec.piece({ ...job, expect: chunk.id });
          } catch (error) {
            if (!(error instanceof ChunkDataError)) throw error;
            throw mismatch(blob, i, chunk, error.message);
          }
          if (result.compressed) {
            await store.storeChunk({ id: chunk.id, compressed: result.compressed }, signal);
            stats.stored++;
          }
          progress.add(chunk.size, 1);
        },
        options.signal,
      );
    } finally {
      await codec.closeFiles();
    }
  } finally {
    progress.done();
  }
  return stats;
}

/** About this many bytes of pieces go to a lane in one job (at most 64 of them: see batchesOf). */
const BATCH_BYTES = 1 << 20;

/**
 * chop into a local store of `.cacnk` files: the lanes check, compress and
 * write the pieces themselves (see checkPieces).
 */
async function chopIntoDir(
  options: ChopOptions & { chunks: [number, IndexChunk][] },
  storeDir: string,
  stats: ChopStats,
  progress: { add(bytes: number, chunks: number): void },
) {
  const { chunks } = options;
  const written = await checkPieces({ ...options, storeDir, progress });
  // A chunk two pieces hold may be written by either's lane: it counts once, as stored.
  const stored = new Set<ChunkId>();
  const unique = new Set<ChunkId>();
  chunks.forEach(([, chunk], k) => {
    unique.add(chunk.id);
    if (written[k] > 0) stored.add(chunk.id);
  });
  stats.stored = stored.size;
  stats.present = unique.size - stored.size;
}

/**
 * Reads the pieces of `blob` that `chunks` (index positions and chunks) name
 * and checks each against its ID in the lanes, runs of consecutive pieces a job
 * (a job per piece made the messages cost more than the lanes' work); with
 * `storeDir` each piece that matches is also stored there. Throws BlobMismatch
 * naming the first piece that differs, which is not stored. Returns, per piece,
 * the size of the chunk file written for it (0: none).
 */
export async function checkPieces(options: {
  index: Index;
  blob: string;
  codec: CodecPool;
  chunks: readonly [number, IndexChunk][];
  concurrency: number;
  storeDir?: string;
  signal?: AbortSignal;
  progress: { add(bytes: number, chunks: number): void };
}): Promise<Uint32Array> {
  const { blob, codec, chunks, storeDir, progress } = options;
  const digest = digestOf(options.index);
  const written = new Uint32Array(chunks.length);
  let bad: { k: number; actual: ChunkId } | undefined;
  try {
    await forEachLimited(runsOf(chunks), options.concurrency, async ([first, end]) => {
      if (bad && bad.k < first) return; // an earlier mismatch fails the command anyway
      const run = chunks.slice(first, end).map(([, chunk]) => chunk);
      const done = await codec.pieces({
        path: blob,
        start: run[0].start,
        ends: Float64Array.from(run, (chunk) => chunk.start + chunk.size),
        digest,
        mode: storeDir === undefined ? "hash" : "store",
        storeDir,
        expect: run.map((chunk) => chunk.id),
      });
      written.set(done.written, first);
      if (done.mismatch !== undefined) {
        const k = first + done.mismatch;
        const actual = chunkIdFromBytes(done.ids, done.mismatch * CHUNK_ID_SIZE);
        if (!bad || k < bad.k) bad = { k, actual };
        return;
      }
      const last = run[run.length - 1];
      progress.add(last.start + last.size - run[0].start, run.length);
    }, options.signal);
  } finally {
    await codec.closeFiles();
  }
  if (bad) {
    const [i, chunk] = chunks[bad.k];
    throw mismatch(blob, i, chunk, `hashes to ${bad.actual}`);
  }
  return written;
}

/**
 * Runs of pieces next to each other in the blob, as [first, end) indexes into
 * `chunks`: a skipped chunk ends a run, and make's batchesOf cuts the rest.
 */
function* runsOf(chunks: readonly [number, IndexChunk][]): Generator<[number, number]> {
  let first = 0;
  for (let k = 1; k <= chunks.length; k++) {
    if (k < chunks.length && chunks[k][0] === chunks[k - 1][0] + 1) continue;
    const ends = chunks.slice(first, k).map(([, chunk]) => chunk.start + chunk.size);
    for (const [a, b] of batchesOf(ends, chunks[first][1].start, BATCH_BYTES)) {
      yield [first + a, first + b];
    }
    first = k;
  }
}

function mismatch(blob: string, i: number, chunk: IndexChunk, detail: string): BlobMismatch {
  return new BlobMismatch(
    `${blob}: chunk ${i} at offset ${chunk.start} (size ${chunk.size}) ${detail}, ` +
      `the index says ${chunk.id}`,
  );
}

/** Fails unless the blob exists and is exactly `length` bytes. */
export async function checkBlobSize(blob: string, length: number): Promise<void> {
  const size = await blobSize(blob);
  if (size !== length) {
    throw new BlobMismatch(`${blob}: size ${size} differs from the index's ${length}`);
  }
}
