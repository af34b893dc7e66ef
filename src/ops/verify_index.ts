/** verify-index: does a blob match its index, size and every chunk's hash? */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { type Index, indexLength } from "../format/index.ts";
import { progressBar } from "../util/progress.ts";
import { checkBlobSize, checkPieces } from "./chop.ts";

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
  const { index, blob } = options;
  await checkBlobSize(blob, indexLength(index));
  const progress = progressBar("verify-index", indexLength(index), {
    enabled: options.progress,
    chunks: index.chunks.length,
  });
  try {
    await checkPieces({ ...options, chunks: [...index.chunks.entries()], progress });
  } finally {
    progress.done();
  }
}
