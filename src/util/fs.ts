/** File helpers: temporary names beside a target, atomic replace, readable file errors. */
import { DesyncError, UsageError } from "../errors.ts";
import { onForcedExit } from "./shutdown.ts";

/** Short reasons for the OS errors Deno reports only as "… (os error N)" with no class. */
const OS_ERRORS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EIO: "input/output error",
  ENOTDIR: "not a directory",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
  EMFILE: "too many open files",
  ENXIO: "no such device or address",
};

/** A short reason for a file-system error, without Deno's "(os error N): op 'path'" tail. */
export function describeFsError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file or directory";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotCapable) return describeNotCapable(error);
  if (error instanceof Deno.errors.IsADirectory) return "is a directory";
  if (error instanceof Deno.errors.AlreadyExists) return "already exists";
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && OS_ERRORS[code]) return OS_ERRORS[code];
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/ \(os error \d+\)(: .*)?$/s, "");
}

/** Which Deno permission flag a refused operation needs, from Deno's message. */
export function describeNotCapable(error: Error): string {
  // Deno lets a program open device files (e.g. /dev/sdb) only with --allow-all.
  if (/Requires all access/.test(error.message)) return "Deno opens devices only with --allow-all";
  const match = /Requires (\w+) access(?: to "(.*)")?, run again with the (--allow-\w+) flag/
    .exec(error.message);
  if (!match) return "not allowed by the Deno permissions";
  const [, kind, target, flag] = match;
  if (!target) return `not permitted: needs ${flag}`;
  return kind === "net" || kind === "run" || kind === "env"
    ? `not permitted: needs ${flag}=${target}`
    : `not permitted: needs ${flag} for ${target}`;
}

function splitPath(path: string): { dir: string; base: string } {
  const slash = path.lastIndexOf("/");
  return { dir: path.slice(0, slash + 1), base: path.slice(slash + 1) };
}

/**
 * A hidden temporary name in the same directory as `path`, so a rename is
 * atomic. It carries the writer's PID (for people looking at a directory);
 * whether its writer is alive is told by the lock the writer holds on it.
 */
export function tempName(path: string): string {
  const { dir, base } = splitPath(path);
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${dir}.${base}.${Deno.pid}-${random[0].toString(36)}${random[1].toString(36)}.tmp`;
}

const TEMP_SUFFIX = /^(\d+)-[0-9a-z]+\.tmp$/;

/**
 * A temporary file this young is never taken for stale: its writer may have
 * created it and not yet taken its lock.
 */
const STALE_AFTER_MS = 1_000;

/**
 * Removes the temporary files a killed run (SIGKILL, power loss) left beside
 * `path`. A writer holds an exclusive lock on its temporary file until it is
 * renamed; the kernel drops the lock when the writer dies, so a file that can
 * be locked has no writer, whichever host or PID namespace it ran in. Files
 * that cannot be checked are left alone, and so is `own` (the caller's own
 * temporary file, written meanwhile: it is not even opened, since where flock
 * is emulated with POSIX locks, as on NFS, neither this process's lock keeps it
 * from locking the file nor does closing its descriptor leave that lock in
 * place). Returns the names removed.
 */
export async function removeStaleTemps(path: string, own?: string): Promise<string[]> {
  const { dir, base } = splitPath(path);
  const prefix = `.${base}.`;
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir || "."));
  } catch {
    return removed; // an unlistable directory: nothing to tidy that we could see
  }
  for (const entry of entries) {
    if (!entry.isFile || !entry.name.startsWith(prefix)) continue;
    if (!TEMP_SUFFIX.test(entry.name.slice(prefix.length))) continue;
    const temp = `${dir}${entry.name}`;
    if (temp === own) continue;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(temp, { read: true });
    } catch {
      continue;
    }
    try {
      const info = await file.stat();
      // From its creation, not its last write: a writer killed mid-run kept writing until then.
      const times = [info.birthtime, info.mtime].filter((time) => time !== null);
      const age = Date.now() - Math.min(...times.map((time) => time!.getTime()));
      if (age < STALE_AFTER_MS || !file.tryLockSync(true)) continue;
      await Deno.remove(temp);
      removed.push(entry.name);
    } catch {
      // Locks unsupported here, or the file went away: not ours to judge.
    } finally {
      file.close();
    }
  }
  return removed;
}

/**
 * Runs `write` against a temporary file beside `path` and renames it into place
 * when it succeeds; on failure, or when the process is made to exit, the
 * temporary file is removed. Temporary files of earlier runs that were killed
 * are removed first. File errors, wherever they happen, name `path`.
 */
export async function writeAtomically<T>(
  output: string,
  write: (file: Deno.FsFile, tempPath: string) => Promise<T>,
): Promise<T> {
  const cannot = (error: unknown) =>
    new DesyncError(`${output}: cannot write: ${describeOutputError(output, error)}`, {
      cause: error,
    });
  let path = output;
  let mode = 0o644;
  try {
    // A symbolic link is written through: its target gets the new contents.
    if ((await Deno.lstat(output)).isSymlink) path = await Deno.realPath(output);
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new Deno.errors.IsADirectory("is a directory");
    if (!info.isFile) {
      // A rename would replace the device or FIFO itself (a block device: use in-place writing).
      throw new UsageError(`${output}: is ${kindOf(info)}, not a regular file: it is not replaced`);
    }
    mode = (info.mode ?? mode) & 0o7777;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (!(error instanceof Deno.errors.NotFound)) throw cannot(error);
  }
  // Beside the write, not before it (listing a large directory takes a while): another
  // live writer's file is young or locked, and ours is passed over by name.
  const temp = tempName(path);
  const tidying = removeStaleTemps(path, temp).catch(() => []);
  try {
    return await writeThroughTemp(path, temp, output, mode, write, cannot);
  } finally {
    await tidying;
  }
}

async function writeThroughTemp<T>(
  path: string,
  temp: string,
  output: string,
  mode: number,
  write: (file: Deno.FsFile, tempPath: string) => Promise<T>,
  cannot: (error: unknown) => DesyncError,
): Promise<T> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temp, { write: true, createNew: true, mode });
  } catch (error) {
    throw cannot(error);
  }
  using _cleanup = onForcedExit(() => Deno.removeSync(temp));
  let closed = false;
  try {
    try {
      // Tells a later run that this file has a live writer (see removeStaleTemps).
      file.lockSync(true);
    } catch {
      // A file system without locks: the file is merely unprotected from tidying.
    }
    // The umask may have narrowed the mode of a file that replaces one: keep the old mode.
    if (mode !== 0o644) await Deno.chmod(temp, mode).catch(() => {});
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
    throw nameOutput(error, output, temp);
  }
}

/** What a file that is not a regular one is, for messages. */
export function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isBlockDevice) return "a block device";
  if (info.isCharDevice) return "a character device";
  if (info.isFifo) return "a FIFO";
  if (info.isSocket) return "a socket";
  if (info.isSymlink) return "a symbolic link";
  return info.isFile ? "a regular file" : "not a regular file";
}

/**
 * What is at `path`, following links: undefined when nothing is, or when Deno
 * may not look (writing it then says what to grant).
 */
export async function statOutput(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable) {
      return undefined;
    }
    throw new DesyncError(`${path}: cannot stat: ${describeFsError(error)}`, { cause: error });
  }
}

/**
 * Why writing standard output failed, naming it (`desync … > file` on a full
 * disk); a reader that went away stays BrokenPipe, which callers treat as the end.
 */
export function stdoutError(error: unknown): unknown {
  return stdioError("standard output", "write", error);
}

/** stdoutError for either stream and its operation (`pull` reads standard input too). */
export function stdioError(
  stream: "standard input" | "standard output",
  operation: "read" | "write",
  error: unknown,
): unknown {
  if (error instanceof Deno.errors.BrokenPipe || error instanceof DesyncError) return error;
  return new DesyncError(`${stream}: cannot ${operation}: ${describeFsError(error)}`, {
    cause: error,
  });
}

/** Standard output, for writeAll and writers: its write errors name it. */
export const stdout = {
  async write(bytes: Uint8Array): Promise<number> {
    try {
      return await Deno.stdout.write(bytes);
    } catch (error) {
      throw stdoutError(error);
    }
  },
};

/** Writes all of `bytes` (a write may take only part). */
export async function writeAll(
  file: { write(bytes: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

/** Why an output cannot be written; for permissions, what to grant (a rename needs both). */
function describeOutputError(path: string, error: unknown): string {
  if (error instanceof Deno.errors.NotCapable && !/Requires all access/.test(error.message)) {
    const dir = splitPath(path).dir || "./";
    // Name the permission that is missing; a rename needs both.
    const missing = (["read", "write"] as const)
      .filter((name) => Deno.permissions.querySync({ name, path: dir }).state !== "granted")
      .map((name) => `--allow-${name}`);
    return `Deno needs ${missing.join(" and ") || "--allow-read and --allow-write"} for ${dir} ` +
      "(the output is written to a temporary file there, then renamed)";
  }
  return describeFsError(error);
}

/**
 * Makes an error from writing the temporary file name the output: an OS error
 * thrown here gets the path and operation, a message (from a worker) that
 * names the temporary file names the output instead.
 */
function nameOutput(error: unknown, path: string, temp: string): unknown {
  if (error instanceof DesyncError) return error;
  if (error instanceof Error && error.message.includes(temp)) {
    return new DesyncError(error.message.replaceAll(temp, path), { cause: error });
  }
  if (error instanceof Error && (typeof (error as { code?: unknown }).code === "string")) {
    return new DesyncError(`${path}: cannot write: ${describeFsError(error)}`, { cause: error });
  }
  return error;
}

/** The size of a blob: a regular file, or a block device (whose stat says 0). */
export async function blobSize(path: string): Promise<number> {
  try {
    const info = await Deno.stat(path);
    if (info.isFile) return info.size;
    if (!info.isBlockDevice) throw new DesyncError(`${path}: not a regular file or block device`);
    using device = await Deno.open(path, { read: true });
    return await device.seek(0, Deno.SeekMode.End);
  } catch (error) {
    if (error instanceof DesyncError) throw error;
    throw new DesyncError(`${path}: cannot open: ${describeFsError(error)}`, { cause: error });
  }
}
