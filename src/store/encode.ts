/** Turning a chunk into the bytes a store keeps, the same way for every backend. */
import type { CodecPool } from "../chunk/codec_pool.ts";
import type { Digest } from "../format/index.ts";
import { decodeStoredChunk } from "./decode.ts";
import type { StorableChunk } from "./store.ts";

/**
 * The bytes a store keeps for a chunk: its zstd frame, or in an uncompressed
 * store its plain data (decoded and verified first when only the frame is at hand).
 */
export async function storedForm(
  codec: CodecPool,
  storeName: string,
  chunk: StorableChunk,
  uncompressed: boolean,
  digests: readonly Digest[],
): Promise<Uint8Array> {
  if (uncompressed) {
    if (chunk.plain) return chunk.plain;
    // The codec may take over the buffer it decodes; give it a copy, the caller keeps its own.
    const frame = chunk.compressed!.slice();
    return (await decodeStoredChunk(codec, storeName, chunk.id, digests, {
      data: frame,
      compressed: true,
    })).plain;
  }
  return chunk.compressed ?? (await codec.encode(chunk.plain!, digests[0])).compressed;
}
