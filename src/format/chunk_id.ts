/**
 * Chunk IDs: 32-byte digests, written as 64 lowercase hex characters.
 * Parsing is strict, which also keeps path tricks such as `../` out of store paths.
 */

/** Lowercase hex form of a chunk ID; the branded type keeps unchecked strings out. */
export type ChunkId = string & { readonly __chunkId: unique symbol };

export const CHUNK_ID_SIZE = 32;

const HEX_ID = /^[0-9a-f]{64}$/;

export function isChunkId(text: string): text is ChunkId {
  return HEX_ID.test(text);
}

/** Parses a hex chunk ID; throws a RangeError naming the bad text. */
export function parseChunkId(text: string): ChunkId {
  if (!isChunkId(text)) throw new RangeError(`not a chunk ID: ${JSON.stringify(text)}`);
  return text;
}

export function chunkIdFromBytes(bytes: Uint8Array, offset = 0): ChunkId {
  if (bytes.length - offset < CHUNK_ID_SIZE) throw new RangeError("chunk ID needs 32 bytes");
  // The native hex encoder (no node: module needed: loading one costs start-up time).
  return bytes.subarray(offset, offset + CHUNK_ID_SIZE).toHex() as ChunkId;
}

export function chunkIdToBytes(id: ChunkId, target = new Uint8Array(CHUNK_ID_SIZE), offset = 0) {
  target.subarray(offset, offset + CHUNK_ID_SIZE).setFromHex(id);
  return target;
}
