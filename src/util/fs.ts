/** File helpers: temporary names beside a target, atomic replace, whole reads. */
import { DesyncError } from "../errors.ts";

/** A short reason for a file-system error, without Deno's "(os error N): op 'path'" tail. */
export function describeFsError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file or directory";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotCapable) {
    // Deno lets a program open device files (e.g. /dev/sdb) only with --allow-all.
    return /Requires all access/.test(error.message)
      ? "Deno opens devices only with --allow-all"
      : "not allowed by the Deno permissions";
  }
  if (error instanceof Deno.errors.IsADirectory) return "is a directory";
  return error instanceof Error ? error.message : String(error);
}

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
  const cannot = (error: unknown) =>
    new DesyncError(`${path}: cannot write: ${describeFsError(error)}`, { cause: error });
  try {
    if ((await Deno.stat(path)).isDirectory) throw new Deno.errors.IsADirectory("is a directory");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw cannot(error);
  }
  const temp = tempName(path);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
  } catch (error) {
    throw cannot(error);
  }
  let closed = false;
  try {
    const result = await write(file, temp);
    file.close();
    closed = true;
    await Deno.rename(temp, path).catch((error) => {
      throw cannot(error);
    });
    return result;
  } catch (error) {
    if (!closed) file.close();
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}
