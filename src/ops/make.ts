/**
 * make: chunk a blob as casync does, store the chunks and compute the index
 * (ops/write_index.ts writes it where the user wants it).
 * Cuts are found in parallel (see cut_blob.ts); then every chunk is read,
 * hashed, compressed and stored by a codec worker, at most `concurrency` at once.
 * The blob is never held in memory as a whole.
 */
import type { ChunkerParams } from "../chunk/chunker.ts";
import type { CodecPool } from "../chunk/codec_pool.ts";
import { archiveFeatureFlags } from "../format/catar.ts";
import {
  CHUNK_ID_SIZE,
  type ChunkId,
  chunkIdFromBytes,
  chunkIdToBytes,
} from "../format/chunk_id.ts";
import {
  CASYNC_BLOB_FLAGS,
  type Digest,
  digestOf,
  FLAG_SHA512_256,
  type Index,
  type IndexChunk,
} from "../format/index.ts";
import { workerStoreDir, type WriteStore } from "../store/store.ts";
import { blobSize, describeFsError } from "../util/fs.ts";
import { progressBar } from "../util/progress.ts";
import { forEachLimited } from "../util/tasks.ts";
import { DesyncError, UsageError } from "../errors.ts";
import { cutBlob, cutsUntil } from "./cut_blob.ts";

export interface MakeOptions {
  blob: string;
  /** Where to store chunks; undefined to only hash them (the `chunk` command). */
  store?: WriteStore;
  codec: CodecPool;
  params: ChunkerParams;
  digest: Digest;
  concurrency: number;
  signal?: AbortSignal;
  progress?: boolean;
  /** Chunk from this offset on (Go desync's `chunk -S`); the chunks keep their blob offsets. */
  start?: number;
}

export interface MakeStats {
  chunks: number;
  uniqueChunks: number;
  /**
   * Chunks this run wrote: into a compressed local store, those it lacked;
   * any other store is sent every unique chunk (a PUT cannot tell whether the
   * object was there), so for those this counts them all.
   */
  storedChunks: number;
  bytesIn: number;
  /** Compressed bytes of the chunks this run wrote. */
  bytesStored: number;
}

/** casync's feature flags for a blob index, with the digest bit as asked. */
export function blobIndexFlags(digest: Digest): bigint {
  return digest === "sha512-256" ? CASYNC_BLOB_FLAGS : CASYNC_BLOB_FLAGS & ~FLAG_SHA512_256;
}

export async function make(options: MakeOptions): Promise<{ index: Index; stats: MakeStats }> {
  const { blob, codec, params, digest, store } = options;
  const size = await blobSize(blob);
  const featureFlags = await indexFlagsFor(blob, digest);
  const start = Math.min(options.start ?? 0, size);
  const cuts = start === 0
    ? await cutBlob(codec, blob, size, params, Math.min(options.concurrency, codec.size))
    : start < size
    ? await cutsUntil(codec, blob, size, start, size, params)
    : [];
  const stats: MakeStats = {
    chunks: cuts.length,
    uniqueChunks: 0,
    storedChunks: 0,
    bytesIn: size - start,
    bytesStored: 0,
  };
  // Per chunk only its ID's bytes and the size of the file this run wrote for
  // it (0: none), not objects and strings: those made the heap grow with the blob.
  const ids = new Uint8Array(cuts.length * CHUNK_ID_SIZE);
  const written = new Uint32Array(cuts.length);
  const startOf = (i: number) => i === 0 ? start : cuts[i - 1];
  // Workers read `.cacnk` files of a local store; an uncompressed one gets `storeChunk` only.
  const storeDir = workerStoreDir(store);
  const mode = store ? (storeDir ? "store" : "encode") : "hash";
  // Chunks this thread has stored or is storing: a chunk that two pieces hold is stored once.
  const encodedIds = new Set<ChunkId>();
  const progress = progressBar("make", size - start, {
    enabled: options.progress,
    chunks: cuts.length,
  });
  try {
    // Compressed chunks come back to this thread one a job, as `concurrency` bounds them.
    const batches = batchesOf(cuts, start, mode === "encode" ? 0 : BATCH_BYTES);
    await forEachLimited(batches, options.concurrency, async ([first, end], signal) => {
      if (mode === "encode") {
        const offset = startOf(first);
        const job = { path: blob, offset, size: cuts[first] - offset, digest, mode } as const;
        const { id, compressed } = await codec.piece(job);
        chunkIdToBytes(id, ids, first * CHUNK_ID_SIZE);
        if (!encodedIds.has(id)) {
          encodedIds.add(id);
          await store!.storeChunk({ id, compressed: compressed! }, signal);
          written[first] = compressed!.length;
        }
      } else {
        const ends = Float64Array.from({ length: end - first }, (_, k) => cuts[first + k]);
        const done = await codec.pieces({
          path: blob,
          start: startOf(first),
          ends,
          digest,
          mode,
          storeDir,
        });
        ids.set(done.ids, first * CHUNK_ID_SIZE);
        written.set(done.written, first);
      }
      progress.add(cuts[end - 1] - startOf(first), end - first);
    }, options.signal);
  } finally {
    progress.done();
    await codec.closeFiles();
  }
  const chunks: IndexChunk[] = new Array(cuts.length);
  const unique = new Set<ChunkId>();
  // Two lanes may both write a chunk that two pieces hold: it is counted once.
  const stored = new Set<ChunkId>();
  for (let i = 0; i < cuts.length; i++) {
    const id = chunkIdFromBytes(ids, i * CHUNK_ID_SIZE);
    chunks[i] = { id, start: startOf(i), size: cuts[i] - startOf(i) };
    unique.add(id);
    if (written[i] > 0 && !stored.has(id)) {
      stored.add(id);
      stats.storedChunks++;
      stats.bytesStored += written[i];
    }
  }
  stats.uniqueChunks = unique.size;
  const index: Index = {
    featureFlags,
    chunkSizeMin: params.min,
    chunkSizeAvg: params.avg,
    chunkSizeMax: params.max,
    chunks,
  };
  return { index, stats };
}

/**
 * A catar archive's index carries the archive's feature flags, as casync's
 * .caidx does (casync refuses one whose header and archive disagree); any other
 * blob gets casync's blob index flags.
 */
async function indexFlagsFor(blob: string, digest: Digest): Promise<bigint> {
  const start = new Uint8Array(64);
  let length = 0;
  try {
    using file = await Deno.open(blob, { read: true });
    while (length < start.length) {
      const n = await file.read(start.subarray(length));
      if (n === null) break;
      length += n;
    }
  } catch (error) {
    throw new DesyncError(`${blob}: cannot read: ${describeFsError(error)}`, { cause: error });
  }
  const flags = archiveFeatureFlags(start.subarray(0, length));
  if (flags === undefined) return blobIndexFlags(digest);
  if (digestOf({ featureFlags: flags }) !== digest) {
    throw new UsageError(
      `${blob} is a catar archive made for ${digestOf({ featureFlags: flags })} chunk IDs; ` +
        `give --digest ${digestOf({ featureFlags: flags })}`,
    );
  }
  return flags;
}

/** About this many bytes of chunks go to a lane in one job. */
const BATCH_BYTES = 1 << 20;
/**
 * At most this many chunks a job, however small they are: one lane runs on
 * the main thread, where a job runs to its end before a signal is handled, and
 * storing a chunk costs ~0.3 ms of file system calls whatever its size. A
 * megabyte of 256-byte chunks (-m 64B:256B:1K) was 4096 files in one job, and
 * kept Ctrl-C waiting 2-6 s; 64 still cut the messages by as many times.
 */
const BATCH_CHUNKS = 64;

/**
 * Runs of consecutive chunks, as [first, end) indexes into `cuts`: a run ends
 * with the chunk that brings it to `bytes` (so it holds less than `bytes` plus
 * one chunk; one chunk each for 0), or with its `chunks`th chunk.
 */
export function* batchesOf(
  cuts: readonly number[],
  start: number,
  bytes: number,
  chunks = BATCH_CHUNKS,
): Generator<[number, number]> {
  let first = 0;
  for (let i = 0; i < cuts.length; i++) {
    const from = first === 0 ? start : cuts[first - 1];
    if (cuts[i] - from >= bytes || i + 1 - first >= chunks || i === cuts.length - 1) {
      yield [first, i + 1];
      first = i + 1;
    }
  }
}
