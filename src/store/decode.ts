/** Turning the bytes a store holds into a verified Chunk, the same way for every backend. */
import { ChunkDataError } from "../chunk/errors.ts";
import { isZstdFrame } from "../chunk/zstd_frame.ts";
import type { CodecPool } from "../chunk/codec_pool.ts";
import { ChunkInvalid } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";
import type { Chunk, RawChunk } from "./store.ts";

/**
 * Decompresses (when compressed) and verifies a chunk in the codec pool; bad
 * data is ChunkInvalid naming `storeName`. The compressed form is kept for
 * caches only when it is zstd: a gzip or xz chunk from a casync store would
 * otherwise land in a cache Go desync cannot read, so the cache re-encodes it.
 */
export async function decodeStoredChunk(
  codec: CodecPool,
  storeName: string,
  id: ChunkId,
  digests: readonly Digest[],
  raw: RawChunk,
): Promise<Chunk> {
  try {
    const { plain, input } = await codec.decode(raw.data, id, digests, {
      compressed: raw.compressed,
      keepInput: raw.compressed,
    });
    return { id, plain, compressed: input && isZstdFrame(input) ? input : undefined };
  } catch (error) {
    if (error instanceof ChunkDataError) throw new ChunkInvalid(id, storeName, error.message);
    throw error;
  }
}
