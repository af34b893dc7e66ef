/**
 * The jobs a codec lane runs (in a worker, or inline on the main thread): one
 * job per message, the reply with the buffers to transfer back without copying.
 * `place` jobs use synchronous I/O on the lane's own file handles, so lanes
 * never contend for a file offset. A lane runs one job at a time, even across
 * an await: jobs share the scratch buffers and file handles of this module.
 */
import {
  ChunkDataError,
  ChunkUndecodable,
  compressChunk,
  compressChunkTransient,
  decodeChunk,
  frameToStore,
} from "./codec.ts";
import { hashChunk } from "./digest.ts";
import { MISSING } from "./errors.ts";
import type { CodecReply, CodecRequest, PlaceFileItem } from "./codec_pool.ts";
import type { Digest } from "../format/index.ts";
import { CHUNK_ID_SIZE, type ChunkId, chunkIdToBytes } from "../format/chunk_id.ts";
import { CHUNK_SIZE_LIMIT_MAX, type ChunkerParams, nextCut } from "./chunker.ts";
import { isXz, xzDecompress } from "./xz.ts";
import { seedCopy } from "./seed_copy.ts";
import { writeTreeFiles } from "./tree_files.ts";
import { collectAfterPieces, collectAfterStores } from "./full_gc.ts";
import { touchFile, writeChunkFileSync } from "./store_files.ts";
import { CHUNK_SIZE_LIMIT, maxStoredChunkSize, uncompressedPath } from "../format/store_layout.ts";
import {
  closeFiles,
  inputFile,
  NotAChunkFile,
  outputFile,
  readAt,
  readChunkFile,
  scratchOf,
  writeAt,
} from "./worker_io.ts";

function decodeAny(
  data: Uint8Array,
  id: ChunkId,
  digests: readonly Digest[],
  compressed: boolean,
  size?: number,
) {
  let firstError: unknown;
  for (const digest of digests) {
    try {
      return decodeChunk(data, id, digest, compressed, size);
    } catch (error) {
      if (!(error instanceof ChunkDataError) || error instanceof ChunkUndecodable) throw error;
      firstError ??= error;
    }
  }
  throw firstError;
}

/**
 * The lane's buffer for finding cuts, reused: a fresh megabyte per job (a 4 GiB
 * blob is 128 jobs) was garbage the allocator kept, and make's peak memory grew
 * with the blob.
 */
let cutBuffer = new Uint8Array(0);

function cutBufferOf(size: number): Uint8Array {
  if (cutBuffer.length < size) cutBuffer = new Uint8Array(size);
  return cutBuffer.subarray(0, size);
}

/** Cuts from `start` until one at or past `limit` (or the end of the file). */
function findCuts(
  path: string,
  size: number,
  start: number,
  limit: number,
  params: ChunkerParams,
): number[] {
  const file = inputFile(path);
  const wanted = Math.min(1 << 20, limit - start + params.max);
  const buffer = cutBufferOf(Math.max(2 * params.max, wanted));
  let bufferStart = start;
  let filled = 0;
  let pos = 0;
  const cuts: number[] = [];
  for (;;) {
    const final = bufferStart + filled >= size;
    const length = nextCut(buffer, pos, filled, params, final);
    if (length > 0) {
      pos += length;
      const cut = bufferStart + pos;
      cuts.push(cut);
      if (cut >= limit || cut >= size) return cuts;
    } else if (final) {
      return cuts;
    } else {
      buffer.copyWithin(0, pos, filled);
      bufferStart += pos;
      filled -= pos;
      pos = 0;
      const n = readAt(file, buffer.subarray(filled), bufferStart + filled);
      if (n === 0) throw new Error(`${path}: file shrank while being read`);
      filled += n;
    }
  }
}

/** casync's xz chunk files need an asynchronous decoder: inflate them up front. */
async function unpackXz(stored: { data: Uint8Array; compressed: boolean }, size?: number) {
  if (!stored.compressed || !isXz(stored.data)) return stored;
  try {
    // One byte past the size expected is enough to tell the chunk is wrong.
    const limit = (size || CHUNK_SIZE_LIMIT_MAX) + 1;
    return { data: await xzDecompress(stored.data, limit), compressed: false };
  } catch (error) {
    throw new ChunkUndecodable(`cannot decompress (xz): ${(error as Error).message}`);
  }
}

/** `size` bytes of the file at `path` from `offset`, in the lane's scratch buffer. */
function readPiece(path: string, offset: number, size: number): Uint8Array {
  const plain = scratchOf(size);
  if (readAt(inputFile(path), plain, offset) !== size) {
    throw new Error(`${path}: file ends before offset ${offset + size}`);
  }
  return plain;
}

/**
 * Compresses plain chunk data and writes its chunk file unless the store has
 * it (then the file is touched); the bytes written, 0 when none. Written here,
 * synchronously: cheaper than handing the frame back for an async write.
 */
function storeChunkData(storeDir: string, id: ChunkId, plain: Uint8Array): number {
  let written = 0;
  writeChunkFileSync(storeDir, id, () => {
    const frame = compressChunkTransient(plain);
    written = frame.length;
    return frame;
  }, { touchExisting: true });
  return written;
}

/** Writes a chunk's plain data at each of its offsets in `output`. */
function writePlaced(
  item: { size: number; offsets: readonly number[] },
  plain: Uint8Array,
  output: string,
) {
  checkedSize(item, plain);
  const file = outputFile(output);
  for (const offset of item.offsets) writeAt(file, plain, offset);
}

/**
 * Where a place-files job gathers: the buffer it brought when that is large
 * enough, zeroed where no item goes (all-zero chunks are not read); else a new one.
 */
function gatherBuffer(
  job: { gather?: number; into?: ArrayBuffer; items: readonly PlaceFileItem[] },
) {
  const length = job.gather!;
  if (!job.into || job.into.byteLength < length) return new Uint8Array(length);
  const buffer = new Uint8Array(job.into, 0, length);
  let covered = 0;
  for (const item of job.items) {
    buffer.fill(0, covered, item.offsets[0]);
    covered = item.offsets[0] + item.size;
  }
  buffer.fill(0, covered);
  return buffer;
}

/** The plain data, if it is as long as the index says the chunk is. */
function checkedSize(item: { size: number }, plain: Uint8Array): Uint8Array {
  if (plain.length !== item.size) {
    throw new ChunkDataError(`holds ${plain.length} bytes, the index says ${item.size}`);
  }
  return plain;
}

async function handle(
  job: CodecRequest,
  signal?: AbortSignal,
): Promise<{ reply: CodecReply; transfer: ArrayBuffer[] }> {
  const transfer: ArrayBuffer[] = [];
  switch (job.op) {
    case "decode": {
      const input = await unpackXz({ data: job.data, compressed: job.compressed });
      const decoded = decodeAny(input.data, job.id, job.digests, input.compressed);
      // The decoder reuses its buffer: what is sent away must own its memory.
      const plain = decoded.buffer === input.data.buffer ? decoded : decoded.slice();
      const reply: CodecReply = { seq: job.seq, ok: true, data: plain };
      transfer.push(plain.buffer as ArrayBuffer);
      // A single raw block's content is a view into the input: the caller re-encodes it.
      if (job.keepInput && plain.buffer !== job.data.buffer && frameToStore(input)) {
        reply.input = job.data;
        transfer.push(job.data.buffer as ArrayBuffer);
      }
      return { reply, transfer };
    }
    case "read-chunk": {
      let found;
      try {
        found = readChunkFile(job.path, job.maxBytes);
      } catch (error) {
        if (!(error instanceof NotAChunkFile)) throw error;
        return { reply: { seq: job.seq, ok: true, outcomes: [error.detail] }, transfer };
      }
      if (!found) return { reply: { seq: job.seq, ok: true, outcomes: [MISSING] }, transfer };
      let plain: Uint8Array;
      let kept: Uint8Array | undefined;
      try {
        const stored = await unpackXz(found);
        plain = decodeAny(stored.data, job.id, job.digests, stored.compressed);
        kept = job.plainOnly ? undefined : frameToStore(stored);
      } catch (error) {
        if (!(error instanceof ChunkDataError)) throw error;
        return { reply: { seq: job.seq, ok: true, outcomes: [error.message] }, transfer };
      }
      // Both live in buffers this lane reuses: what is sent away gets its own.
      const reply: CodecReply = { seq: job.seq, ok: true, data: plain.slice() };
      transfer.push(reply.data!.buffer as ArrayBuffer);
      if (kept) {
        reply.input = kept.slice();
        transfer.push(reply.input.buffer as ArrayBuffer);
      }
      return { reply, transfer };
    }
    case "encode": {
      const data = compressChunk(job.data);
      transfer.push(data.buffer as ArrayBuffer);
      return {
        reply: { seq: job.seq, ok: true, id: hashChunk(job.data, job.digest), data },
        transfer,
      };
    }
    case "hash":
      return { reply: { seq: job.seq, ok: true, id: hashChunk(job.data, job.digest) }, transfer };
    case "place": {
      // Plain data a store has verified: only written here.
      const file = outputFile(job.output);
      for (const offset of job.offsets) writeAt(file, job.data, offset);
      return { reply: { seq: job.seq, ok: true }, transfer };
    }
    case "piece": {
      const plain = readPiece(job.path, job.offset, job.size);
      const id = hashChunk(plain, job.digest);
      if (job.expect && job.expect !== id) throw new ChunkDataError(`hashes to ${id}`);
      const reply: CodecReply = { seq: job.seq, ok: true, id };
      if (job.mode === "encode") {
        reply.data = compressChunk(plain);
        transfer.push(reply.data.buffer as ArrayBuffer);
      }
      return { reply, transfer };
    }
    case "pieces": {
      const { ends, stop } = job;
      const stopped = () => stop !== undefined && Atomics.load(stop, 0) !== 0;
      if (stopped()) throw new Error("stopped");
      const ids = new Uint8Array(ends.length * CHUNK_ID_SIZE);
      const sizes = new Uint32Array(ends.length);
      // One read for all the pieces: they are consecutive.
      const whole = job.data ??
        readPiece(job.path!, job.start, (ends.at(-1) ?? job.start) - job.start);
      let start = job.start;
      let mismatch: number | undefined;
      for (let k = 0; k < ends.length; k++) {
        if (stopped()) throw new Error("stopped");
        const plain = whole.subarray(start - job.start, ends[k] - job.start);
        const id = hashChunk(plain, job.digest);
        chunkIdToBytes(id, ids, k * CHUNK_ID_SIZE);
        if (job.expect && job.expect[k] !== id) {
          mismatch = k;
          break;
        }
        if (job.mode === "store") sizes[k] = storeChunkData(job.storeDir!, id, plain);
        start = ends[k];
      }
      collectAfterPieces(ends.length);
      transfer.push(ids.buffer, sizes.buffer);
      const reply: CodecReply = { seq: job.seq, ok: true, ids, sizes, mismatch };
      if (job.data) {
        // Sent back to be filled again: batches left as garbage piled up faster than GCs ran.
        reply.data = job.data;
        transfer.push(job.data.buffer as ArrayBuffer);
      }
      return { reply, transfer };
    }
    case "cuts": {
      const cuts = Float64Array.from(
        findCuts(job.path, job.size, job.start, job.limit, job.params),
      );
      return { reply: { seq: job.seq, ok: true, cuts }, transfer: [cuts.buffer] };
    }
    case "place-files": {
      const outcomes: (string | null)[] = [];
      const gathered = job.gather === undefined ? undefined : gatherBuffer(job);
      for (const item of job.items) {
        // The index's size bounds the file (a cache copy knows none: casync's largest chunk).
        const found = readChunkFile(item.path, maxStoredChunkSize(item.size || CHUNK_SIZE_LIMIT));
        if (!found) {
          outcomes.push(MISSING);
          continue;
        }
        try {
          const stored = await unpackXz(found, item.size);
          const plain = decodeAny(stored.data, item.id, job.digests, stored.compressed, item.size);
          if (job.output !== undefined) writePlaced(item, plain, job.output);
          if (gathered) gathered.set(checkedSize(item, plain), item.offsets[0]);
          if (job.touch) touchFile(found.compressed ? item.path : uncompressedPath(item.path));
          if (job.copyTo !== undefined) {
            // A zstd file is copied as it is; other encodings are stored as zstd, like every write.
            const frame = frameToStore(stored, item.size);
            writeChunkFileSync(job.copyTo, item.id, () => frame ?? compressChunkTransient(plain));
          }
          outcomes.push(null);
        } catch (error) {
          if (!(error instanceof ChunkDataError)) throw error;
          outcomes.push(error.message);
        }
      }
      if (gathered) transfer.push(gathered.buffer as ArrayBuffer);
      return { reply: { seq: job.seq, ok: true, outcomes, data: gathered }, transfer };
    }
    case "place-frames": {
      const outcomes: (string | null)[] = [];
      for (const item of job.items) {
        try {
          const stored = await unpackXz(item, item.size);
          const plain = decodeAny(stored.data, item.id, job.digests, stored.compressed, item.size);
          writePlaced(item, plain, job.output);
          outcomes.push(null);
        } catch (error) {
          if (!(error instanceof ChunkDataError)) throw error;
          outcomes.push(error.message);
        }
      }
      return { reply: { seq: job.seq, ok: true, outcomes }, transfer };
    }
    case "fetch-place": {
      // Loaded by the first such job: the HTTP client is most of a worker's modules.
      const { fetchPlace } = await import("./fetch_place.ts");
      const fetched = await fetchPlace(job, signal, async (i, body) => {
        const item = job.items[i];
        try {
          const stored = await unpackXz({ data: body, compressed: job.compressed }, item.size);
          // Decoded and written with no await in between: the decoder's buffer is reused.
          const plain = decodeAny(stored.data, item.id, job.digests, stored.compressed, item.size);
          if (job.output !== undefined) writePlaced(item, plain, job.output);
          if (job.storeDir !== undefined) {
            // A zstd body is stored as it came; any other encoding as zstd, like every write.
            const frame = frameToStore(stored, item.size);
            writeChunkFileSync(job.storeDir, item.id, () => frame ?? compressChunkTransient(plain));
            collectAfterStores(1);
          }
          return null;
        } catch (error) {
          if (!(error instanceof ChunkDataError)) throw error;
          return { kind: "data", message: error.message };
        }
      });
      return { reply: { seq: job.seq, ok: true, fetched }, transfer };
    }
    case "seed-copy":
      return { reply: { seq: job.seq, ok: true, hashes: seedCopy(job) }, transfer };
    case "tree-files": {
      const { stop } = job;
      const failure = writeTreeFiles(job, () => stop !== undefined && Atomics.load(stop, 0) !== 0);
      transfer.push(job.data.buffer as ArrayBuffer);
      return { reply: { seq: job.seq, ok: true, failure, data: job.data }, transfer };
    }
    case "close-files":
      closeFiles();
      return { reply: { seq: job.seq, ok: true }, transfer };
  }
}

/**
 * Runs one job; `signal` ends a job that waits on the network (an inline lane's
 * when its pool closes: a worker's job ends with the worker). A failure becomes
 * an error reply (a data error says so, for ChunkDataError).
 */
export async function respond(
  job: CodecRequest,
  signal?: AbortSignal,
): Promise<{ reply: CodecReply; transfer: ArrayBuffer[] }> {
  try {
    return await handle(job, signal);
  } catch (error) {
    const kind = error instanceof ChunkDataError ? "data" : "other";
    return {
      reply: { seq: job.seq, ok: false, kind, message: (error as Error).message },
      transfer: [],
    };
  }
}
