/**
 * The chunk codec: zstd framing of chunk data and the digest that names it.
 * Pure functions on bytes; the worker pool runs them off the main thread.
 */
import { zlib } from "../util/node_builtins.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";
import { hashChunk } from "./digest.ts";
import { hasUncheckedParts, isZstdFrame, storedFrameContent } from "./zstd_frame.ts";
import { isXz } from "./xz.ts";
import { ChunkDataError, ChunkUndecodable, UnsupportedCompression } from "./errors.ts";
import { ZstdDecoder, ZstdEncoder, zstdStreamsAvailable } from "./zstd_stream.ts";
import { CHUNK_SIZE_LIMIT_MAX } from "./chunker.ts";

/** casync compresses chunks with zstd at level 3. */
export const ZSTD_LEVEL = 3;

export { ChunkDataError, ChunkUndecodable, UnsupportedCompression };

/**
 * One zstd frame, byte-identical to casync's chunk files. The output buffer must
 * hold the whole frame: when zlib has to flush a full buffer midway it appends
 * a second, empty frame that casync never writes.
 */
export function compressChunk(plain: Uint8Array): Uint8Array {
  const reused = zstdStreams()?.encoder;
  if (reused) return reused.encode(plain);
  const bound = plain.length + (plain.length >> 7) + 1024;
  const params = { [zlib().constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL };
  return asPlainArray(zlib().zstdCompressSync(plain, { chunkSize: bound, params }));
}

/**
 * compressChunk for a frame that is written out before the next call: it may
 * be a view into a buffer the encoder reuses.
 */
export function compressChunkTransient(plain: Uint8Array): Uint8Array {
  return zstdStreams()?.encoder.encodeTransient(plain) ?? compressChunk(plain);
}

/** One decoder and encoder per worker, made on first use; undefined where the runtime lacks them. */
let streams: { decoder: ZstdDecoder; encoder: ZstdEncoder } | null | undefined = null;

function zstdStreams() {
  if (streams === null) {
    streams = zstdStreamsAvailable()
      ? { decoder: new ZstdDecoder(), encoder: new ZstdEncoder(ZSTD_LEVEL) }
      : undefined;
  }
  return streams;
}

/**
 * Decompresses a chunk file's contents. The result may be a view into `compressed`
 * or into a buffer the next call reuses: copy it to keep it. `sizeHint`, the
 * expected plain size, lets zstd write the chunk in one pass.
 */
export function decompressChunk(compressed: Uint8Array, sizeHint?: number): Uint8Array {
  // Never more than one byte past what the chunk may hold: a small bomb cannot fill memory.
  const limit = (sizeHint || CHUNK_SIZE_LIMIT_MAX) + 1;
  const stored = storedFrameContent(compressed, limit);
  if (stored?.content) return stored.content;
  if (stored) {
    throw new ChunkDataError(
      sizeHint
        ? `holds ${stored.size} bytes, the index says ${sizeHint}`
        : `holds ${stored.size} bytes, more than a chunk may (${CHUNK_SIZE_LIMIT_MAX})`,
    );
  }
  const options = zlibOptions(sizeHint);
  try {
    // casync detects the compression of each chunk file by its magic bytes (zstd by default,
    // gzip or xz with --compression); so do we.
    if (startsWith(compressed, GZIP_MAGIC)) {
      return asPlainArray(zlib().gunzipSync(compressed, options));
    }
  } catch (error) {
    throw new ChunkUndecodable(`cannot decompress (gzip): ${(error as Error).message}`);
  }
  if (isXz(compressed)) {
    // The workers inflate xz first (xz.ts: its decoder is asynchronous); here it is a caller error.
    throw new UnsupportedCompression("xz-compressed chunks must go through xzDecompress");
  }
  return zstdDecode(compressed, sizeHint);
}

/** node:zlib's options for a chunk of `sizeHint` bytes (0: unknown), bounded by the largest chunk. */
function zlibOptions(sizeHint?: number) {
  const limit = (sizeHint || CHUNK_SIZE_LIMIT_MAX) + 1;
  return sizeHint
    ? { chunkSize: Math.max(sizeHint, 64), maxOutputLength: limit }
    : { maxOutputLength: limit };
}

/** zstd's own decoder (the reused stream decoder when there is one); ChunkUndecodable on failure. */
function zstdDecode(compressed: Uint8Array, sizeHint?: number): Uint8Array {
  try {
    const reused = zstdStreams()?.decoder;
    // A hint of 0 means unknown (verify and cache know no sizes).
    if (reused) return reused.decode(compressed, sizeHint || undefined);
    return asPlainArray(zlib().zstdDecompressSync(compressed, zlibOptions(sizeHint)));
  } catch (error) {
    throw new ChunkUndecodable(`cannot decompress: ${(error as Error).message}`);
  }
}

/**
 * The chunk file a store holds, to be stored elsewhere as it is when it is a
 * zstd frame (other encodings are re-encoded: undefined). Its content has been
 * verified, but the raw-block fast path skips what zstd checks beside it (the
 * content checksum, the declared size, ...: see hasUncheckedParts); a frame
 * wrong there would be a chunk file zstd and Go desync refuse, so such a frame
 * is decoded by zstd here, and fails as any bad frame does.
 */
export function frameToStore(
  stored: { data: Uint8Array; compressed: boolean },
  sizeHint?: number,
): Uint8Array | undefined {
  if (!stored.compressed || !isZstdFrame(stored.data)) return undefined;
  // Only raw-block frames have unchecked parts, and their content came from the fast path
  // (a view into the frame or a buffer of its own), never the reused decoder's buffer.
  if (hasUncheckedParts(stored.data)) zstdDecode(stored.data, sizeHint);
  return stored.data;
}

const GZIP_MAGIC = [0x1f, 0x8b];

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((byte, i) => bytes[i] === byte);
}

/** Decompresses (unless `compressed` is false) and checks the digest against `id`. */
export function decodeChunk(
  data: Uint8Array,
  id: ChunkId,
  digest: Digest,
  compressed = true,
  sizeHint?: number,
): Uint8Array {
  let plain: Uint8Array;
  try {
    plain = compressed ? decompressChunk(data, sizeHint) : data;
  } catch (error) {
    if (error instanceof UnsupportedCompression) {
      throw new UnsupportedCompression(`chunk ${id}: ${error.message}`);
    }
    throw error;
  }
  const actual = hashChunk(plain, digest);
  if (actual !== id) throw new ChunkDataError(`content hashes to ${actual}`);
  return plain;
}

/** Node Buffers may share a pooled ArrayBuffer; hand out views that own theirs. */
function asPlainArray(buffer: Uint8Array): Uint8Array {
  if (buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength) {
    return new Uint8Array(buffer.buffer as ArrayBuffer);
  }
  return new Uint8Array(buffer);
}
