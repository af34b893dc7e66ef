/**
 * Errors about chunk data, in a module of their own so that the main thread can
 * handle them without loading the codec (node:crypto and node:zlib are slow to load).
 */

/** Chunk data that is not what its name promises. */
export class ChunkDataError extends Error {}

/** Chunk data that is not even a valid zstd frame (no digest can make it right). */
export class ChunkUndecodable extends ChunkDataError {}

/**
 * Chunk data in a compression desync does not implement. Deliberately not a
 * ChunkDataError: the chunk may be fine, so it must never be reported (or
 * removed by `verify -r`) as invalid.
 */
export class UnsupportedCompression extends Error {}

/**
 * The outcome string a lane reports for a chunk file that does not exist. Here,
 * not in codec_pool.ts, so that the workers need not load the pool.
 */
export const MISSING = "missing";
