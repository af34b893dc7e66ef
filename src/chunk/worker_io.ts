/**
 * A codec worker's file I/O: synchronous, on handles and a scratch buffer of
 * the worker's own (a job is a short burst of work on its own thread, and no
 * two workers share a file offset).
 */
import { chunkOfPath, uncompressedPath } from "../format/store_layout.ts";
import { notAChunkFileDetail, notAChunkFileMessage } from "./store_files.ts";
import { describeFsError, kindOf } from "../util/fs.ts";

const openFiles = new Map<string, Deno.FsFile>();
/** The path each open file was opened by, so an error in a read or write can name it. */
const pathOf = new WeakMap<Deno.FsFile, string>();

/** An I/O error that names the file and what was being done to it. */
function ioError(path: string, operation: string, error: unknown): Error {
  const chunk = chunkOfPath(path);
  const what = chunk ? `chunk ${chunk.id} in store ${chunk.store}: ${path}` : path;
  return new Error(`${what}: cannot ${operation}: ${describeFsError(error)}`, { cause: error });
}
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
 * undefined when neither exists. A file over `maxBytes` is no chunk, and is not read.
 */
export function readChunkFile(
  path: string,
  maxBytes: number,
): { data: Uint8Array; compressed: boolean } | undefined {
  const data = readWholeFile(path, maxBytes);
  if (data) return { data, compressed: true };
  const plain = readWholeFile(uncompressedPath(path), maxBytes);
  return plain && { data: plain, compressed: false };
}

/**
 * Reads a whole small file into the scratch buffer; undefined when it does not
 * exist. Only a regular file of at most `maxBytes` is opened: opening a FIFO for
 * reading would block until some writer came along, a directory cannot be
 * read, and a huge file would be read whole into memory.
 */
function readWholeFile(path: string, maxBytes: number): Uint8Array | undefined {
  let file: Deno.FsFile;
  let size: number;
  try {
    const info = Deno.statSync(path);
    if (!info.isFile) throw notAChunkFile(path, info);
    if (info.size > maxBytes) throw tooLarge(path, maxBytes);
    size = info.size;
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (error instanceof NotAChunkFile) throw error;
    throw ioError(path, "read", error);
  }
  try {
    // One byte more than the file's size, so reaching the end needs no extra growth.
    let buffer = scratchOf(Math.max(scratch.length, size + 1));
    let done = 0;
    for (;;) {
      if (done > maxBytes) throw tooLarge(path, maxBytes);
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
  } catch (error) {
    if (error instanceof NotAChunkFile) throw error;
    throw ioError(path, "read", error);
  } finally {
    file.close();
  }
}

/**
 * A store entry with a chunk's name that is no chunk file (not a regular file,
 * or too large): the message names chunk and store; `detail` is what it is.
 */
export class NotAChunkFile extends Error {
  readonly detail: string;

  constructor(path: string, what: string) {
    super(notAChunkFileMessage(path, what));
    this.detail = notAChunkFileDetail(path, what);
  }
}

function notAChunkFile(path: string, info: Deno.FileInfo): NotAChunkFile {
  return new NotAChunkFile(path, kindOf(info));
}

function tooLarge(path: string, maxBytes: number): NotAChunkFile {
  return new NotAChunkFile(path, `larger than ${maxBytes} bytes`);
}

/** The blob (or output) file at `path`, opened once per worker and kept until closeFiles. */
function cachedFile(path: string, mode: "read" | "write"): Deno.FsFile {
  const key = `${mode}:${path}`;
  let file = openFiles.get(key);
  if (!file) {
    try {
      file = Deno.openSync(path, mode === "read" ? { read: true } : { write: true });
    } catch (error) {
      throw ioError(path, mode === "read" ? "open for reading" : "open for writing", error);
    }
    openFiles.set(key, file);
    pathOf.set(file, path);
  }
  return file;
}

export const inputFile = (path: string) => cachedFile(path, "read");
export const outputFile = (path: string) => cachedFile(path, "write");

/**
 * Where each kept file's offset stands after our last read or write: a lane
 * writes runs of consecutive chunks, and a seek to where the offset already is
 * costs a call for nothing (256 MiB extracted: 4 145 seeks). Forgotten after a
 * failure, when the offset is not known.
 */
const offsets = new Map<Deno.FsFile, number>();

function moveTo(file: Deno.FsFile, position: number) {
  if (offsets.get(file) === position) return;
  offsets.delete(file);
  file.seekSync(position, Deno.SeekMode.Start);
}

export function readAt(file: Deno.FsFile, buffer: Uint8Array, position: number): number {
  try {
    moveTo(file, position);
    let done = 0;
    while (done < buffer.length) {
      const n = file.readSync(buffer.subarray(done));
      if (n === null) break;
      done += n;
    }
    offsets.set(file, position + done);
    return done;
  } catch (error) {
    offsets.delete(file);
    throw ioError(pathOf.get(file) ?? "<file>", `read at offset ${position}`, error);
  }
}

export function writeAt(file: Deno.FsFile, data: Uint8Array, position: number) {
  try {
    moveTo(file, position);
    let done = 0;
    while (done < data.length) done += file.writeSync(data.subarray(done));
    offsets.set(file, position + done);
  } catch (error) {
    offsets.delete(file);
    throw ioError(pathOf.get(file) ?? "<file>", `write at offset ${position}`, error);
  }
}

/** Closes every file this worker holds open. */
export function closeFiles() {
  for (const file of openFiles.values()) file.close();
  openFiles.clear();
  offsets.clear();
}
