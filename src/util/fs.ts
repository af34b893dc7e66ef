/** File helpers: temporary names beside a target, atomic replace, whole reads. */

/** A hidden temporary name in the same directory as `path`, so a rename is atomic. */
export function tempName(path: string): string {
  const slash = path.lastIndexOf("/");
  const dir = path.slice(0, slash + 1);
  const base = path.slice(slash + 1);
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${dir}.${base}.${random[0].toString(36)}${random[1].toString(36)}.tmp`;
}

/**
 * Runs `write` against a temporary file beside `path` and renames it into place
 * when it succeeds; on failure the temporary file is removed.
 */
export async function writeAtomically<T>(
  path: string,
  write: (file: Deno.FsFile, tempPath: string) => Promise<T>,
): Promise<T> {
  const temp = tempName(path);
  const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
  let closed = false;
  try {
    const result = await write(file, temp);
    file.close();
    closed = true;
    await Deno.rename(temp, path);
    return result;
  } catch (error) {
    if (!closed) file.close();
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** Reads exactly `buffer.length` bytes at `position`, failing on a short file. */
export async function readExactly(file: Deno.FsFile, buffer: Uint8Array): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const n = await file.read(buffer.subarray(done));
    if (n === null) throw new Error(`unexpected end of file after ${done} bytes`);
    done += n;
  }
}
