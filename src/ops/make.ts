/**
 * make: chunk a blob as casync does, store the chunks and compute the index
 * (ops/write_index.ts writes it where the user wants it).
 * Cuts are found in parallel (see cut_blob.ts); then every chunk is read,
 * hashed, compressed and stored by a codec worker, at most `concurrency` at once.
 * The blob is never held in memory as a whole.
 */
import type { ChunkerParams } from "../chunk/chunker.ts";
import type { CodecPool, PieceJob } from "../chunk/codec_pool.ts";
import { archiveFeatureFlags } from "../format/catar.ts";
import type { ChunkId } from "../format/chunk_id.ts";
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
import { cutBlob, cutsUntil, type Span, spansOf } from "./cut_blob.ts";

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
  /** Chunks that were not in the store before. */
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
  const spans = spansOf(cuts, start);
  const ids: ChunkId[] = new Array(spans.length);
  const stats: MakeStats = {
    chunks: spans.length,
    uniqueChunks: 0,
    storedChunks: 0,
    bytesIn: size - start,
    bytesStored: 0,
  };
  // Workers read `.cacnk` files of a local store; an uncompressed one gets `storeChunk` only.
  const storeDir = workerStoreDir(store);
  const mode = store ? (storeDir ? "store" : "encode") : "hash";
  const storedIds = new Set<ChunkId>();
  const progress = progressBar("make", size - start, {
    enabled: options.progress,
    chunks: spans.length,
  });
  try {
    await forEachLimited(spans.keys(), options.concurrency, async (i, signal) => {
      const result = await codec.piece({ ...pieceJob(blob, spans[i], digest, mode), storeDir });
      ids[i] = result.id;
      // Stored now: written by the worker (local store), or compressed for us to store.
      const stored = result.compressed?.length ?? result.written;
      if (stored !== undefined && !storedIds.has(result.id)) {
        // Two pieces may hold the same chunk: it is written, and counted, once.
        storedIds.add(result.id);
        if (result.compressed) {
          await store!.storeChunk({ id: result.id, compressed: result.compressed }, signal);
        }
        stats.storedChunks++;
        stats.bytesStored += stored;
      }
      progress.add(spans[i].size, 1);
    }, options.signal);
  } finally {
    progress.done();
    await codec.closeFiles();
  }
  stats.uniqueChunks = new Set(ids).size;
  const index: Index = {
    featureFlags,
    chunkSizeMin: params.min,
    chunkSizeAvg: params.avg,
    chunkSizeMax: params.max,
    chunks: spans.map((span, i): IndexChunk => ({
      id: ids[i],
      start: span.start,
      size: span.size,
    })),
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

function pieceJob(path: string, span: Span, digest: Digest, mode: PieceJob["mode"]): PieceJob {
  return { path, offset: span.start, size: span.size, digest, mode };
}
