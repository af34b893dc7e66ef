/**
 * The few libc calls a casync-exact archive needs and Deno lacks: Deno's stat
 * has only millisecond times and so has its utime, and it cannot make device
 * nodes, FIFOs or sockets, read or set extended attributes, or read a link's
 * target as bytes. Called through Deno's FFI, so only with --allow-ffi
 * (tree_fs.ts chooses between these and Deno's own API). Linux (glibc) only,
 * like casync.
 */
import { DesyncError } from "../errors.ts";

/** What lstat/stat tell about a file, with the modification time in nanoseconds. */
export interface FileStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  ino: bigint;
  mtimeNs: bigint;
  /** Device number of a block or character device. */
  rdevMajor: number;
  rdevMinor: number;
  /** The file system the file lives on (to notice mount points). */
  devMajor: number;
  devMinor: number;
}

/** A failed system call: the operation, the path and the C library's reason. */
export class SystemCallError extends Error {
  constructor(
    readonly operation: string,
    readonly path: string,
    readonly errno: number,
    readonly reason: string,
  ) {
    super(`${path}: cannot ${operation}: ${reason}`);
  }
}

export const ENOENT = 2;
export const EEXIST = 17;
export const ENODATA = 61;
export const EOPNOTSUPP = 95;
const ERANGE = 34;

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const STATX_BASIC_STATS = 0x7ff;
const STATX_SIZE = 256;
const UTIME_OMIT = (1 << 30) - 2;

const SYMBOLS = {
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  lchown: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  mknod: { parameters: ["buffer", "u32", "u64"], result: "i32" },
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  symlink: { parameters: ["buffer", "buffer"], result: "i32" },
  llistxattr: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  lsetxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  geteuid: { parameters: [], result: "u32" },
  umask: { parameters: ["u32"], result: "u32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** Whether the FFI permission is granted (no prompt). */
export function posixAvailable(): boolean {
  return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
}

function libc(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  if (!lib) {
    try {
      lib = Deno.dlopen("libc.so.6", SYMBOLS);
    } catch (error) {
      throw new DesyncError(
        `cannot load the C library libc.so.6: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
  return lib.symbols;
}

const encoder = new TextEncoder();

/** A NUL-terminated copy of a path for C. */
function cPath(path: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const bytes = typeof path === "string" ? encoder.encode(path) : path;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** The calling thread's errno, as the last failed libc call left it. */
function lastErrno(): number {
  return new Deno.UnsafePointerView(libc().__errno_location()!).getInt32();
}

function fail(operation: string, path: string): never {
  const errno = lastErrno();
  const reason = new Deno.UnsafePointerView(libc().strerror(errno)!).getCString();
  throw new SystemCallError(operation, path, errno, reason);
}

const statBuffer = new Uint8Array(STATX_SIZE);
const statView = new DataView(statBuffer.buffer);

/** lstat(2) (or stat(2) with `follow`), with the nanoseconds Deno.lstat drops. */
export function statFile(path: string, follow = false): FileStat {
  const flags = follow ? 0 : AT_SYMLINK_NOFOLLOW;
  if (libc().statx(AT_FDCWD, cPath(path), flags, STATX_BASIC_STATS, statBuffer) !== 0) {
    fail("stat", path);
  }
  // struct statx (linux/stat.h): the same layout on every architecture.
  const v = statView;
  return {
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    mode: v.getUint16(28, true),
    ino: v.getBigUint64(32, true),
    size: Number(v.getBigUint64(40, true)),
    mtimeNs: v.getBigInt64(112, true) * 1_000_000_000n + BigInt(v.getUint32(120, true)),
    rdevMajor: v.getUint32(128, true),
    rdevMinor: v.getUint32(132, true),
    devMajor: v.getUint32(136, true),
    devMinor: v.getUint32(140, true),
  };
}

/** A symlink's target, byte for byte. */
export function readLink(path: string): Uint8Array {
  const buffer = new Uint8Array(4097);
  const n = Number(libc().readlink(cPath(path), buffer, BigInt(buffer.length)));
  if (n < 0) fail("read the link", path);
  if (n >= buffer.length) {
    throw new SystemCallError("read the link", path, 36, "target longer than PATH_MAX");
  }
  return buffer.slice(0, n);
}

/** symlink(2): a link at `path` whose target is `target`, byte for byte. */
export function makeSymlink(target: Uint8Array, path: string): void {
  if (libc().symlink(cPath(target), cPath(path)) !== 0) fail("create the symlink", path);
}

/** Sets the modification time (exactly, in ns) without following a symlink; atime is kept. */
export function setModificationTime(path: string, mtimeNs: bigint): void {
  const times = new BigInt64Array([0n, BigInt(UTIME_OMIT), 0n, 0n]);
  times[2] = mtimeNs / 1_000_000_000n;
  times[3] = mtimeNs % 1_000_000_000n;
  const bytes = new Uint8Array(times.buffer);
  if (libc().utimensat(AT_FDCWD, cPath(path), bytes, AT_SYMLINK_NOFOLLOW) !== 0) {
    fail("set the modification time of", path);
  }
}

/** chown(2) without following a symlink. */
export function changeOwner(path: string, uid: number, gid: number): void {
  if (libc().lchown(cPath(path), uid, gid) !== 0) fail("change the owner of", path);
}

/** Linux's dev_t for a major and minor number (glibc's makedev). */
function makeDevice(major: number, minor: number): bigint {
  const ma = BigInt(major), mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) |
    (mi & 0xffn);
}

/** mknod(2): a device node, FIFO or socket with the type and permission bits of `mode`. */
export function makeNode(path: string, mode: number, major = 0, minor = 0): void {
  if (libc().mknod(cPath(path), mode, makeDevice(major, minor)) !== 0) fail("create", path);
}

/** The process's effective user ID (Deno.uid() would need --allow-sys). */
export function effectiveUid(): number {
  return libc().geteuid();
}

/** The process's file mode creation mask (read by setting it and setting it back). */
export function currentUmask(): number {
  const c = libc();
  const mask = c.umask(0o022);
  c.umask(mask);
  return mask;
}

/**
 * Calls `read(buffer)` (a list/get xattr call) with a growing buffer until the
 * answer fits; -1 stands for failure with errno set.
 */
function readGrowing(read: (buffer: Uint8Array) => number): Uint8Array | number {
  for (let size = 256;; size *= 2) {
    const buffer = new Uint8Array(size);
    const n = read(buffer);
    if (n >= 0) return buffer.slice(0, n);
    if (lastErrno() !== ERANGE || size > 1 << 24) return -1;
  }
}

/** The names of a file's extended attributes (not following a symlink); none where unsupported. */
export function listXattrs(path: string): Uint8Array[] {
  const c = libc();
  const list = readGrowing((buffer) =>
    Number(c.llistxattr(cPath(path), buffer, BigInt(buffer.length)))
  );
  if (typeof list === "number") {
    if (lastErrno() === EOPNOTSUPP) return [];
    fail("list the extended attributes of", path);
  }
  const names: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] !== 0) continue;
    if (i > start) names.push(list.slice(start, i));
    start = i + 1;
  }
  return names;
}

/** An extended attribute's value, or undefined when it has gone. */
export function getXattr(path: string, name: Uint8Array): Uint8Array | undefined {
  const c = libc();
  const value = readGrowing((buffer) =>
    Number(c.lgetxattr(cPath(path), cPath(name), buffer, BigInt(buffer.length)))
  );
  if (typeof value !== "number") return value;
  if (lastErrno() === ENODATA) return undefined;
  fail("read an extended attribute of", path);
}

/** Sets an extended attribute (not following a symlink). */
export function setXattr(path: string, name: Uint8Array, value: Uint8Array): void {
  const data = new Uint8Array(Math.max(1, value.length));
  data.set(value);
  if (libc().lsetxattr(cPath(path), cPath(name), data, BigInt(value.length), 0) !== 0) {
    fail(`set the extended attribute ${new TextDecoder().decode(name)} of`, path);
  }
}
