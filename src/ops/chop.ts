/**
 * chop: cut a blob at its index's boundaries, check every piece against the
 * index and store it. The blob is read front to back; at most `concurrency`
 * pieces are hashed/compressed/stored at once, so memory stays bounded.
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { BlobMismatch, DesyncError } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import { digestOf, type Index, indexLength } from "../format/index.ts";
import { describeFsError } from "../store/local.ts";
import type { WriteStore } from "../store/store.ts";
import { readExactly } from "../util/fs.ts";
import { progressBar } from "../util/progress.ts";
import { TaskGroup } from "../util/tasks.ts";

export interface ChopOptions {
  index: Index;
  blob: string;
  store: WriteStore;
  codec: CodecPool;
  concurrency: number;
  signal?: AbortSignal;
  progress?: boolean;
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
  const file = await openBlob(blob);
  const stats: ChopStats = { chunks: index.chunks.length, stored: 0, present: 0 };
  const progress = progressBar("chop", length, options.progress);
  try {
    const size = (await file.stat()).size;
    if (size !== length) {
      throw new BlobMismatch(`${blob}: size ${size} differs from the index's ${length}`);
    }
    const seen = new Set<ChunkId>();
    const group = new TaskGroup(options.concurrency, options.signal);
    for (const [i, chunk] of index.chunks.entries()) {
      const plain = new Uint8Array(chunk.size);
      await readExactly(file, plain);
      const first = !seen.has(chunk.id);
      seen.add(chunk.id);
      await group.spawn(async (signal) => {
        const mismatch = (actual: ChunkId) =>
          new BlobMismatch(
            `${blob}: chunk ${i} at offset ${chunk.start} (size ${chunk.size}) hashes to ${actual}, ` +
              `the index says ${chunk.id}`,
          );
        if (!first || await store.hasChunk(chunk.id, signal)) {
          const actual = await codec.hash(plain, digest);
          if (actual !== chunk.id) throw mismatch(actual);
          if (first) stats.present++;
        } else {
          const encoded = await codec.encode(plain, digest);
          if (encoded.id !== chunk.id) throw mismatch(encoded.id);
          await store.storeChunk({ id: chunk.id, plain, compressed: encoded.compressed }, signal);
          stats.stored++;
        }
        progress.add(chunk.size);
      });
    }
    await group.wait();
  } finally {
    file.close();
  }
  progress.done();
  return stats;
}

export async function openBlob(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true });
  } catch (error) {
    throw new DesyncError(`${path}: cannot open: ${describeFsError(error)}`, { cause: error });
  }
}
