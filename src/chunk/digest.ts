/**
 * The digest that names a chunk. Apart from the codec so the main thread can
 * hash (the IDs of zero chunks, say) without loading the compressors.
 */
import { nodeCrypto } from "../util/node_builtins.ts";
import { type ChunkId, chunkIdFromBytes } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";

export function hashChunk(plain: Uint8Array, digest: Digest): ChunkId {
  const hash = nodeCrypto().createHash(digest).update(plain).digest();
  return chunkIdFromBytes(hash);
}
