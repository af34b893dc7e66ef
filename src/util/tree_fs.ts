/**
 * The file-system calls `tar` and `untar` make, in two implementations chosen
 * once per run by whether Deno grants FFI (no prompt):
 *
 * - the C library through FFI (posix.ts): everything casync records, times to
 *   the nanosecond, extended attributes, device nodes, FIFOs and sockets;
 * - Deno's own API (and node:fs, which needs no other permission): stat times
 *   to the millisecond, times set to the millisecond, symlink targets that are
 *   UTF-8, no extended attributes, and no device nodes, FIFOs or sockets made
 *   (stat still tells their type and device number, so tar records them).
 *
 * Callers ask for a capability (`makeNode`, `xattrs`, `timeResolutionNs`)
 * instead of the implementation's name.
 */
import { lchownSync, lutimesSync } from "node:fs";
import { describeNotCapable, tempName } from "./fs.ts";
import {
  changeOwner,
  currentUmask,
  EEXIST,
  effectiveUid,
  ENOENT,
  type FileStat,
  getXattr,
  listXattrs,
  makeNode,
  makeSymlink,
  posixAvailable,
  readLink,
  setModificationTime,
  setXattr,
  statFile,
  SystemCallError,
} from "./posix.ts";

export interface TreeFs {
  /** Which implementation: the C library (with --allow-ffi) or Deno alone. */
  readonly kind: "libc" | "deno";
  /** The step (ns) to which `stat` reports and `setModificationTime` sets times exactly. */
  readonly timeResolutionNs: bigint;
  /** lstat(2), or stat(2) with `follow`. */
  stat(path: string, follow?: boolean): FileStat;
  /** A symlink's target, byte for byte. */
  readLink(path: string): Uint8Array;
  makeSymlink(target: Uint8Array, path: string): void;
  /** Sets the modification time (to `timeResolutionNs`), not following a symlink. */
  setModificationTime(path: string, mtimeNs: bigint): void;
  /**
   * setModificationTime for a regular file still open (`info` its fstat), through
   * its descriptor; absent where the path is as cheap. Deno checks a path's
   * permission on every call by resolving it component by component.
   */
  readonly setOpenFileModificationTime?: (
    file: Deno.FsFile,
    info: Pick<Deno.FileInfo, "atime">,
    mtimeNs: bigint,
  ) => void;
  /** chown(2), not following a symlink. */
  changeOwner(path: string, uid: number, gid: number): void;
  /** mknod(2) for device nodes, FIFOs and sockets; absent where they cannot be made. */
  readonly makeNode?: (path: string, mode: number, major?: number, minor?: number) => void;
  /** Extended attributes (not following symlinks); absent where they cannot be read or set. */
  readonly xattrs?: {
    list(path: string): Uint8Array[];
    get(path: string, name: Uint8Array): Uint8Array | undefined;
    set(path: string, name: Uint8Array, value: Uint8Array): void;
  };
  /**
   * The effective user ID and the mask new files get. Deno alone (no --allow-sys)
   * learns them from a directory it makes, and removes, in `scratchDir`.
   */
  identity(scratchDir: string): { uid: number; umask: number };
}

/** The C library through Deno's FFI: needs --allow-ffi. */
export const libcTreeFs: TreeFs = {
  kind: "libc",
  timeResolutionNs: 1n,
  stat: statFile,
  readLink,
  makeSymlink,
  setModificationTime,
  changeOwner,
  makeNode,
  xattrs: { list: listXattrs, get: getXattr, set: setXattr },
  identity: () => ({ uid: effectiveUid(), umask: currentUmask() }),
};

const NS_PER_MS = 1_000_000n;

/** The time Deno sets for `mtimeNs`: a Date holds whole milliseconds (a float of seconds would round). */
export function denoTimeOf(mtimeNs: bigint): Date {
  return new Date(Number(mtimeNs / NS_PER_MS));
}
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** A Deno error as the SystemCallError libc's calls throw, so callers see one kind. */
function systemCallError(operation: string, path: string, error: unknown): SystemCallError {
  if (error instanceof SystemCallError) return error;
  const errno = error instanceof Deno.errors.NotFound
    ? ENOENT
    : error instanceof Deno.errors.AlreadyExists
    ? EEXIST
    : 0;
  const reason = error instanceof Deno.errors.NotCapable
    ? describeNotCapable(error)
    : (error instanceof Error ? error.message : String(error))
      .replace(/ \(os error \d+\)(: .*)?$/s, "");
  return new SystemCallError(operation, path, errno, reason);
}

function call<T>(operation: string, path: string, action: () => T): T {
  try {
    return action();
  } catch (error) {
    throw systemCallError(operation, path, error);
  }
}

/** glibc's major()/minor() of a dev_t (Deno gives st_rdev and st_dev as numbers). */
function splitDevice(device: number | null): { major: number; minor: number } {
  const dev = BigInt(device ?? 0);
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}

/** lstat(2) by Deno: times to the millisecond (node:fs's bigint stat is built on it too). */
function denoStat(path: string, follow = false): FileStat {
  const info = call("stat", path, () => follow ? Deno.statSync(path) : Deno.lstatSync(path));
  if (info.mode === null || info.uid === null || info.gid === null || info.mtime === null) {
    throw new SystemCallError("stat", path, 0, "Deno reports no mode, owner or time for it");
  }
  const rdev = splitDevice(info.rdev);
  const dev = splitDevice(info.dev);
  return {
    mode: info.mode,
    uid: info.uid,
    gid: info.gid,
    size: info.size,
    ino: BigInt(info.ino ?? 0),
    mtimeNs: BigInt(info.mtime.getTime()) * NS_PER_MS,
    rdevMajor: rdev.major,
    rdevMinor: rdev.minor,
    devMajor: dev.major,
    devMinor: dev.minor,
  };
}

/** Deno's API only: needs no permission beyond reading and writing the files. */
export const denoTreeFs: TreeFs = {
  kind: "deno",
  timeResolutionNs: NS_PER_MS,
  stat: denoStat,
  readLink(path) {
    try {
      return encoder.encode(Deno.readLinkSync(path));
    } catch (error) {
      if (!(error instanceof Deno.errors.InvalidData)) {
        throw systemCallError("read the link", path, error);
      }
      throw new SystemCallError(
        "read the link",
        path,
        0,
        "its target is not UTF-8, and Deno reads other targets only with --allow-ffi",
      );
    }
  },
  makeSymlink(target, path) {
    let text: string;
    try {
      text = strictUtf8.decode(target);
    } catch {
      throw new SystemCallError(
        "create the symlink",
        path,
        0,
        "its target is not UTF-8, and Deno makes other targets only with --allow-ffi",
      );
    }
    call("create the symlink", path, () => Deno.symlinkSync(text, path));
  },
  setModificationTime(path, mtimeNs) {
    // atime is not archived: it is kept (to the millisecond, all Deno can set).
    const info = call("stat", path, () => Deno.lstatSync(path));
    const atime = info.atime ?? new Date();
    const mtime = denoTimeOf(mtimeNs);
    // node's lutimes passes seconds as a float, and about one time in 160 comes out
    // a millisecond early: only a symlink, which Deno's own utime would follow, needs it.
    const set = info.isSymlink
      ? () => lutimesSync(path, atime, mtime)
      : () => Deno.utimeSync(path, atime, mtime);
    call("set the modification time of", path, set);
  },
  setOpenFileModificationTime(file, info, mtimeNs) {
    file.utimeSync(info.atime ?? new Date(), denoTimeOf(mtimeNs));
  },
  changeOwner(path, uid, gid) {
    call("change the owner of", path, () => lchownSync(path, uid, gid));
  },
  identity(scratchDir) {
    // A new directory is ours and gets 0o777 less the mask (the umask, or the
    // directory's default ACL, which would rule the archive's entries as well).
    const probe = tempName(`${scratchDir}/identity`);
    call("create", probe, () => Deno.mkdirSync(probe, { mode: 0o777 }));
    try {
      const info = denoStat(probe);
      return { uid: info.uid, umask: 0o777 & ~info.mode };
    } finally {
      try {
        Deno.removeSync(probe);
      } catch {
        // an empty directory with a temporary's name: harmless
      }
    }
  },
};

/** The C library when FFI is granted, else Deno alone; asked once, without a prompt. */
export function selectTreeFs(): TreeFs {
  return posixAvailable() ? libcTreeFs : denoTreeFs;
}
