/** verify-index: does a blob match its index, size and every chunk's hash? */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { BlobMismatch } from "../errors.ts";
import { digestOf, type Index, indexLength } from "../format/index.ts";
import { progressBar } from "../util/progress.ts";
import { forEachLimited } from "../util/tasks.ts";
import { checkBlobSize } from "./chop.ts";
import { batchesOf } from "./make.ts";
import { CHUNK_ID_SIZE, chunkIdFromBytes } from "../format/chunk_id.ts";

/** About this many bytes of chunks a lane reads and hashes in one job. */
const BATCH_BYTES = 1 << 20;

export interface VerifyIndexOptions {
  index: Index;
  blob: string;
  codec: CodecPool;
  concurrency: number;
  signal?: AbortSignal;
  progress?: boolean;
}

/** Resolves when the blob matches; otherwise throws BlobMismatch naming the first bad chunk. */
export async function verifyIndex(options: VerifyIndexOptions): Promise<void> {
  const { index, blob, codec } = options;
  await checkBlobSize(blob, indexLength(index));
  const digest = digestOf(index);
  let firstBad: { i: number; actual: string } | undefined;
  const progress = progressBar("verify-index", indexLength(index), {
    enabled: options.progress,
    chunks: index.chunks.length,
  });
  const ends = index.chunks.map((chunk) => chunk.start + chunk.size);
  try {
    // Runs of consecutive chunks, read and hashed in a lane a job (a job per chunk
    // made the messages cost more than the hashing).
    await forEachLimited(
      batchesOf(ends, 0, BATCH_BYTES),
      options.concurrency,
      async ([first, end]) => {
        if (firstBad && firstBad.i < first) return; // an earlier mismatch is already known
        const start = index.chunks[first].start;
        const done = await codec.pieces({
          path: blob,
          start,
          ends: Float64Array.from(ends.slice(first, end)),
          digest,
          mode: "hash",
        });
        for (let i = first; i < end; i++) {
          const id = chunkIdFromBytes(done.ids, (i - first) * CHUNK_ID_SIZE);
          if (id !== index.chunks[i].id && (!firstBad || i < firstBad.i)) {
            firstBad = { i, actual: id };
          }
        }
        progress.add(ends[end - 1] - start, end - first);
      },
      options.signal,
    );
  } finally {
    progress.done();
    await codec.closeFiles();
  }
  if (firstBad) {
    const chunk = index.chunks[firstBad.i];
    throw new BlobMismatch(
      `${blob}: chunk ${firstBad.i} at offset ${chunk.start} (size ${chunk.size}) hashes to ` +
        `${firstBad.actual}, the index says ${chunk.id}`,
    );
  }
}
