/**
 * chop: cut a blob at its index's boundaries, check every piece against the
 * index and store it. Pieces are read, hashed, compressed and (for local stores)
 * written by codec workers, at most `concurrency` at once: memory stays bounded.
 */
import { ChunkDataError } from "../chunk/errors.ts";
import type { CodecPool, PieceJob } from "../chunk/codec_pool.ts";
import { BlobMismatch } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import { digestOf, type Index, indexLength } from "../format/index.ts";
import { blobSize } from "../util/fs.ts";
import { workerStoreDir, type WriteStore } from "../store/store.ts";
import { progressBar } from "../util/progress.ts";
import { forEachLimited } from "../util/tasks.ts";

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
    // Workers read `.cacnk` files of a local store; an uncompressed one gets `storeChunk`.
    const storeDir = workerStoreDir(store);
    const seen = new Set<ChunkId>();
    try {
      await forEachLimited(
        chunks,
        options.concurrency,
        async ([i, chunk], signal) => {
          const first = !seen.has(chunk.id);
          seen.add(chunk.id);
          const mode: PieceJob["mode"] = !first ? "hash" : storeDir ? "store" : "encode";
          const job = { path: blob, offset: chunk.start, size: chunk.size, digest, mode };
          let result;
          try {
            result = await codec.piece({ ...job, storeDir, expect: chunk.id });
          } catch (error) {
            if (!(error instanceof ChunkDataError)) throw error;
            throw new BlobMismatch(
              `${blob}: chunk ${i} at offset ${chunk.start} (size ${chunk.size}) ${error.message}, ` +
                `the index says ${chunk.id}`,
            );
          }
          if (result.compressed) {
            await store.storeChunk({ id: chunk.id, compressed: result.compressed }, signal);
          }
          if (result.compressed || result.written !== undefined) stats.stored++;
          else if (first) stats.present++;
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

/** Fails unless the blob exists and is exactly `length` bytes. */
export async function checkBlobSize(blob: string, length: number): Promise<void> {
  const size = await blobSize(blob);
  if (size !== length) {
    throw new BlobMismatch(`${blob}: size ${size} differs from the index's ${length}`);
  }
}
