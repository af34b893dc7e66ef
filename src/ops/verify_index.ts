/** verify-index: does a blob match its index, size and every chunk's hash? */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { BlobMismatch } from "../errors.ts";
import { digestOf, type Index, indexLength } from "../format/index.ts";
import { progressBar } from "../util/progress.ts";
import { forEachLimited } from "../util/tasks.ts";
import { checkBlobSize } from "./chop.ts";

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
  try {
    await forEachLimited(index.chunks.keys(), options.concurrency, async (i) => {
      if (firstBad && firstBad.i < i) return; // an earlier mismatch is already known
      const chunk = index.chunks[i];
      const job = {
        path: blob,
        offset: chunk.start,
        size: chunk.size,
        digest,
        mode: "hash" as const,
      };
      const { id } = await codec.piece(job);
      if (id !== chunk.id && (!firstBad || i < firstBad.i)) firstBad = { i, actual: id };
      progress.add(chunk.size, 1);
    }, options.signal);
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
