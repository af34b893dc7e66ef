/**
 * Worker side of `seed-copy`: ranges of a seed file are read (adjacent ones in
 * one read), hashed, and those that are wanted are written into the output
 * from the same buffer (adjacent ones in one write).
 */
import type { ChunkId } from "../format/chunk_id.ts";
import type { SeedCopyJob, SeedItem } from "./codec_pool.ts";
import { hashChunk } from "./digest.ts";
import { inputFile, outputFile, readAt, scratchOf, writeAt } from "./worker_io.ts";

/**
 * The most read at once; a span of adjacent ranges longer than this is read in
 * parts. Each lane's read buffer grows to it (16 MiB cost 24 MiB of peak memory
 * over two lanes; past a few MiB a larger read saves nothing).
 */
const MAX_READ = 2 << 20;

export function seedCopy(job: SeedCopyJob): (ChunkId | null)[] {
  const file = inputFile(job.path);
  const output = job.output === undefined ? undefined : outputFile(job.output);
  const wanted = new Map(job.wanted?.map((entry) => [entry.id, entry]));
  const hashes: (ChunkId | null)[] = new Array(job.items.length).fill(null);
  let first = 0;
  while (first < job.items.length) {
    // The longest run of adjacent ranges from `first` that fits one read.
    let end = first + 1;
    let bytes = job.items[first].size;
    while (
      end < job.items.length &&
      job.items[end].at === job.items[end - 1].at + job.items[end - 1].size &&
      bytes + job.items[end].size <= MAX_READ
    ) {
      bytes += job.items[end].size;
      end++;
    }
    const start = job.items[first].at;
    const buffer = scratchOf(bytes);
    const got = readAt(file, buffer, start);
    const writes = new CoalescedWrites(output, buffer);
    for (let i = first; i < end; i++) {
      const item = job.items[i];
      const from = item.at - start;
      if (from + item.size > got) break; // the seed ends early: these stay null
      const hash = hashChunk(buffer.subarray(from, from + item.size), job.digest);
      hashes[i] = hash;
      const offsets = targetsOf(item, hash, wanted);
      if (offsets) { for (const offset of offsets) writes.add(from, item.size, offset); }
    }
    writes.flush();
    first = end;
  }
  return hashes;
}

function targetsOf(
  item: SeedItem,
  hash: ChunkId,
  wanted: Map<ChunkId, { size: number; offsets: readonly number[] }>,
): readonly number[] | undefined {
  if (item.id !== undefined) return hash === item.id ? item.offsets : undefined;
  // A wanted chunk of another size than this range is the target index's lie: not written.
  const entry = wanted.get(hash);
  return entry?.size === item.size ? entry.offsets : undefined;
}

/** Writes from one buffer, joining pieces that are adjacent both in the buffer and the output. */
class CoalescedWrites {
  #from = 0;
  #length = 0;
  #to = 0;

  constructor(readonly file: Deno.FsFile | undefined, readonly buffer: Uint8Array) {}

  add(from: number, length: number, to: number) {
    if (!this.file) return;
    if (this.#length > 0 && this.#from + this.#length === from && this.#to + this.#length === to) {
      this.#length += length;
      return;
    }
    this.flush();
    this.#from = from;
    this.#length = length;
    this.#to = to;
  }

  flush() {
    if (this.file && this.#length > 0) {
      writeAt(this.file, this.buffer.subarray(this.#from, this.#from + this.#length), this.#to);
    }
    this.#length = 0;
  }
}
