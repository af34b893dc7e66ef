/**
 * A codec worker's file I/O: synchronous, on handles and a scratch buffer of
 * the worker's own (a job is a short burst of work on its own thread, and no
 * two workers share a file offset).
 */
import { uncompressedPath } from "../store/local.ts";

const openFiles = new Map<string, Deno.FsFile>();
/**
 * One read buffer per worker, reused for every chunk file and blob piece:
 * allocating a fresh buffer per read (as Deno.readFileSync does) costs more
 * than the read itself.
 */
let scratch = new Uint8Array(1 << 20);

export function scratchOf(size: number): Uint8Array {
  if (scratch.length < size) scratch = new Uint8Array(Math.max(size, scratch.length * 2));
  return scratch.subarray(0, size);
}

/**
 * Reads a chunk file, or failing that Go desync's uncompressed `<id>` beside it;
 * undefined when neither exists.
 */
export function readChunkFile(path: string): { data: Uint8Array; compressed: boolean } | undefined {
  const data = readWholeFile(path);
  if (data) return { data, compressed: true };
  const plain = readWholeFile(uncompressedPath(path));
  return plain && { data: plain, compressed: false };
}

/** Reads a whole small file into the scratch buffer; undefined when it does not exist. */
function readWholeFile(path: string): Uint8Array | undefined {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    // One byte more than the file's size, so reaching the end needs no extra growth.
    let buffer = scratchOf(Math.max(scratch.length, file.statSync().size + 1));
    let done = 0;
    for (;;) {
      if (done === buffer.length) {
        // The file grew since the stat: keep what was read.
        const bigger = new Uint8Array(buffer.length * 2);
        bigger.set(buffer);
        scratch = buffer = bigger;
      }
      const n = file.readSync(buffer.subarray(done));
      if (n === null || n === 0) break;
      done += n;
    }
    return buffer.subarray(0, done);
  } finally {
    file.close();
  }
}

/** The blob (or output) file at `path`, opened once per worker and kept until closeFiles. */
function cachedFile(path: string, mode: "read" | "write"): Deno.FsFile {
  const key = `${mode}:${path}`;
  let file = openFiles.get(key);
  if (!file) {
    file = Deno.openSync(path, mode === "read" ? { read: true } : { write: true });
    openFiles.set(key, file);
  }
  return file;
}

export const inputFile = (path: string) => cachedFile(path, "read");
export const outputFile = (path: string) => cachedFile(path, "write");

export function readAt(file: Deno.FsFile, buffer: Uint8Array, position: number): number {
  file.seekSync(position, Deno.SeekMode.Start);
  let done = 0;
  while (done < buffer.length) {
    const n = file.readSync(buffer.subarray(done));
    if (n === null) break;
    done += n;
  }
  return done;
}

export function writeAt(file: Deno.FsFile, data: Uint8Array, position: number) {
  file.seekSync(position, Deno.SeekMode.Start);
  let done = 0;
  while (done < data.length) done += file.writeSync(data.subarray(done));
}

export function touchFile(path: string) {
  const now = new Date();
  try {
    Deno.utimeSync(path, now, now);
  } catch {
    // Best effort, as for the cache store itself: the chunk was read fine.
  }
}

/** Closes every file this worker holds open. */
export function closeFiles() {
  for (const file of openFiles.values()) file.close();
  openFiles.clear();
}
