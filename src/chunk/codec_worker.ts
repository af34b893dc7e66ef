/// <reference lib="deno.worker" />
/**
 * Worker side of the codec pool: runs one job per message and transfers the
 * resulting buffers back without copying. `place` jobs use synchronous I/O on
 * this worker's own file handles, so workers never contend for a file offset.
 */
import { ChunkDataError, compressChunk, decodeChunk, hashChunk } from "./codec.ts";
import type { CodecReply, CodecRequest } from "./codec_pool.ts";
import type { Digest } from "../format/index.ts";
import type { ChunkId } from "../format/chunk_id.ts";

const outputs = new Map<string, Deno.FsFile>();

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
      if (!(error instanceof ChunkDataError) || error.message.startsWith("cannot")) throw error;
      firstError ??= error;
    }
  }
  throw firstError;
}

function outputFile(path: string): Deno.FsFile {
  let file = outputs.get(path);
  if (!file) {
    file = Deno.openSync(path, { write: true });
    outputs.set(path, file);
  }
  return file;
}

function writeAt(file: Deno.FsFile, data: Uint8Array, position: number) {
  file.seekSync(position, Deno.SeekMode.Start);
  let done = 0;
  while (done < data.length) done += file.writeSync(data.subarray(done));
}

function handle(job: CodecRequest): { reply: CodecReply; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  switch (job.op) {
    case "decode": {
      const plain = decodeAny(job.data, job.id, job.digests, job.compressed);
      const reply: CodecReply = { seq: job.seq, ok: true, data: plain };
      transfer.push(plain.buffer as ArrayBuffer);
      if (job.keepInput && plain.buffer !== job.data.buffer) {
        reply.input = job.data;
        transfer.push(job.data.buffer as ArrayBuffer);
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
      let plain: Uint8Array;
      if (job.source.kind === "file") {
        let compressed: Uint8Array;
        try {
          compressed = Deno.readFileSync(job.source.path);
        } catch (error) {
          if (error instanceof Deno.errors.NotFound) {
            return {
              reply: { seq: job.seq, ok: false, kind: "missing", message: job.source.path },
              transfer,
            };
          }
          throw error;
        }
        plain = decodeAny(compressed, job.id, job.digests, true, job.size);
      } else {
        plain = job.source.data;
      }
      if (plain.length !== job.size) {
        throw new ChunkDataError(`holds ${plain.length} bytes, the index says ${job.size}`);
      }
      const file = outputFile(job.output);
      for (const offset of job.offsets) writeAt(file, plain, offset);
      return { reply: { seq: job.seq, ok: true }, transfer };
    }
    case "close-files":
      for (const file of outputs.values()) file.close();
      outputs.clear();
      return { reply: { seq: job.seq, ok: true }, transfer };
  }
}

self.onmessage = (event: MessageEvent<CodecRequest>) => {
  const job = event.data;
  try {
    const { reply, transfer } = handle(job);
    self.postMessage(reply, transfer);
  } catch (error) {
    const kind = error instanceof ChunkDataError ? "data" : "other";
    self.postMessage({ seq: job.seq, ok: false, kind, message: (error as Error).message });
  }
};
