/**
 * Reading files whose names others chose (served indexes, chunk files): only
 * regular files of bounded size. Opening a FIFO waits for a writer for good, a
 * device never ends, and a huge file named like an index is not one.
 */
import { concatBytes } from "./bytes.ts";
import { kindOf } from "./fs.ts";

/** A path that is not a regular file, or one larger than allowed. */
export class UnfitFile extends Error {
  constructor(
    readonly path: string,
    readonly info: Deno.FileInfo,
    readonly maxBytes: number,
  ) {
    super(`${path} is ${unfitness(info, maxBytes)}`);
  }

  /** What the file is, for "PATH is WHAT, not a …" messages. */
  what(): string {
    return unfitness(this.info, this.maxBytes);
  }
}

function unfitness(info: Deno.FileInfo, maxBytes: number) {
  return info.isFile ? `larger than ${maxBytes} bytes` : kindOf(info);
}

/** The stat of a regular file of at most `maxBytes`; Deno's NotFound when there is none. */
export async function statRegularFile(path: string, maxBytes: number): Promise<Deno.FileInfo> {
  return checked(path, await Deno.stat(path), maxBytes);
}

/** statRegularFile, synchronously (for the chunk server's synchronous reads). */
export function statRegularFileSync(path: string, maxBytes: number): Deno.FileInfo {
  return checked(path, Deno.statSync(path), maxBytes);
}

function checked(path: string, info: Deno.FileInfo, maxBytes: number): Deno.FileInfo {
  if (!info.isFile || info.size > maxBytes) throw new UnfitFile(path, info, maxBytes);
  return info;
}

/**
 * A regular file's bytes, at most `maxBytes` of them: checked before it is
 * opened, and read no further than the limit should it grow meanwhile.
 * Throws UnfitFile, or Deno's errors (NotFound when there is none).
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Uint8Array> {
  const info = await statRegularFile(path, maxBytes);
  using file = await Deno.open(path, { read: true });
  const data = new Uint8Array(info.size);
  let length = 0;
  while (length < data.length) {
    const n = await file.read(data.subarray(length));
    if (n === null) return data.subarray(0, length); // it shrank meanwhile
    length += n;
  }
  // It may have grown meanwhile: the rest, within the limit (a byte tells whether there is any).
  const parts = [data];
  for (let size = 1;; size = 64 << 10) {
    const part = new Uint8Array(size);
    const n = await file.read(part);
    if (n === null) break;
    length += n;
    if (length > maxBytes) throw new UnfitFile(path, { ...info, size: length }, maxBytes);
    parts.push(part.subarray(0, n));
  }
  return parts.length === 1 ? data : concatBytes(parts);
}
