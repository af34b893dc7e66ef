/**
 * tar: walk a directory tree and write it as a casync archive (catar), byte for
 * byte what `casync make` writes for the same feature set. Entries are visited
 * in casync's order (names sorted as bytes), file contents stream through a
 * reused buffer, and per open directory only its children's offsets are kept,
 * so memory does not grow with the size of the tree.
 *
 * What we record is exactly what the feature flags claim, and what can be read
 * depends on the file-system access (util/tree_fs.ts): with the C library,
 * times in nanoseconds, extended attributes and file capabilities; with Deno
 * alone, times in whole seconds (its stat has milliseconds, and casync has no
 * millisecond granularity) and no attributes. ACLs, SELinux labels, chattr(1)
 * flags and project quota IDs are never read, so their flags are never set.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import type { ChunkerParams } from "../chunk/chunker.ts";
import type { CodecPool } from "../chunk/codec_pool.ts";
import { DesyncError } from "../errors.ts";
import {
  archivedMode,
  CA_FORMAT_FCAPS,
  CA_FORMAT_FILENAME,
  CA_FORMAT_GROUP,
  CA_FORMAT_SYMLINK,
  CA_FORMAT_USER,
  compareBytes,
  DEPTH_MAX,
  encodeBytesRecord,
  encodeDevice,
  encodeEntry,
  encodeGoodbye,
  encodePayloadHeader,
  encodeStringRecord,
  encodeXattr,
  FCAPS_XATTR,
  FEATURE_NAMES,
  type GoodbyeChild,
  goodbyeHash,
  isArchivedXattr,
  KIND_FEATURE,
  kindOf,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  SHA512_256,
  TIME_GRANULARITIES,
  timeGranularityNs,
  WITH_16BIT_UIDS,
  WITH_32BIT_UIDS,
  WITH_DEVICE_NODES,
  WITH_FCAPS,
  WITH_FIFOS,
  WITH_PERMISSIONS,
  WITH_SOCKETS,
  WITH_SYMLINKS,
  WITH_USER_NAMES,
  WITH_XATTRS,
} from "../format/catar.ts";
import { digestOf } from "../format/index.ts";
import type { WriteStore } from "../store/store.ts";
import { concatBytes } from "../util/bytes.ts";
import { describeFsError } from "../util/fs.ts";
import { ENOENT, type FileStat, SystemCallError } from "../util/posix.ts";
import { escapeControls } from "../util/printable.ts";
import { selectTreeFs, type TreeFs } from "../util/tree_fs.ts";
import type { UserDb } from "../util/user_db.ts";
import { StreamChunker } from "./chunk_stream.ts";
import type { MakeStats } from "./make.ts";

/** What every file-system access records: types, modes, owners and their names. */
const BASE_FEATURES = WITH_32BIT_UIDS | WITH_USER_NAMES | WITH_PERMISSIONS | WITH_SYMLINKS |
  WITH_DEVICE_NODES | WITH_FIFOS | WITH_SOCKETS;

/**
 * The feature flags tar records through `fs` (without the digest bit): the
 * finest time granularity whose values `fs` reads exactly, and extended
 * attributes and capabilities where `fs` can read them.
 */
export function tarFeatures(fs: TreeFs): bigint {
  const [time] = TIME_GRANULARITIES.find(([, step]) => step % fs.timeResolutionNs === 0n)!;
  return BASE_FEATURES | time | (fs.xattrs ? WITH_XATTRS | WITH_FCAPS : 0n);
}

/** The same set without owners, for `--no-same-owner`. */
export const OWNER_FEATURES = WITH_32BIT_UIDS | WITH_USER_NAMES;

/** The `casync make` options that select `flags` (for tests and the README). */
export function casyncMakeOptions(flags: bigint): string[] {
  const options = [...FEATURE_NAMES].filter(([, bit]) => flags & bit).map(([name]) =>
    `--with=${name}`
  );
  if (!(flags & SHA512_256)) options.push("--digest=sha256");
  return [...options, "--exclude-nodump=no", "--exclude-file=no"];
}

export interface TarOptions {
  /** The directory to archive. */
  source: string;
  /** The archive's feature flags: a subset of tarFeatures(fs), plus SHA512_256 or not. */
  featureFlags: bigint;
  /** How the tree is read (default: the C library when FFI is granted, else Deno alone). */
  fs?: TreeFs;
  /** Receives the archive in order; it must not keep `bytes` after it resolves. */
  write: (bytes: Uint8Array) => Promise<void>;
  /** Entries to leave out (with everything below them); `info` is the entry's lstat. */
  exclude?: (relative: string, name: string, info: FileStat) => boolean;
  /** Where user and group names come from. */
  users?: UserDb;
  signal?: AbortSignal;
}

export interface TarStats {
  /** Nodes written, the root included. */
  entries: number;
  /** The archive's size. */
  bytes: number;
}

const READ_BUFFER = 1 << 20;

const encoder = new TextEncoder();

export async function tar(options: TarOptions): Promise<TarStats> {
  const fs = options.fs ?? selectTreeFs();
  const unsupported = options.featureFlags & ~(tarFeatures(fs) | SHA512_256);
  if (unsupported) {
    throw new DesyncError(
      `tar cannot record feature flags 0x${unsupported.toString(16)}` +
        (fs.kind === "deno" ? " without --allow-ffi" : ""),
    );
  }
  const source = options.source.length > 1 ? options.source.replace(/\/+$/, "") : options.source;
  const walker = new Walker(options, fs);
  const root = stat(fs, source, true);
  if ((root.mode & S_IFMT) !== S_IFDIR) throw new DesyncError(`${shown(source)}: not a directory`);
  await walker.node(source, "", root, 0);
  return { entries: walker.entries, bytes: walker.offset };
}

/** A path in a message: a name's newline or escape sequence cannot forge a line or drive a terminal. */
const shown = escapeControls;

function stat(fs: TreeFs, path: string, follow = false): FileStat {
  return posixCall(() => {
    try {
      return fs.stat(path, follow);
    } catch (error) {
      if (error instanceof SystemCallError && error.errno === ENOENT && path.includes("\uFFFD")) {
        throw new DesyncError(
          `${shown(path)}: the name is not valid UTF-8, and Deno can only open UTF-8 names`,
        );
      }
      throw error;
    }
  });
}

/** Runs a file-system call, turning its failure into one line naming the path and operation. */
function posixCall<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof SystemCallError) {
      throw new DesyncError(`${shown(error.path)}: cannot ${error.operation}: ${error.reason}`, {
        cause: error,
      });
    }
    throw error;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return compareBytes(a, b) === 0;
}

class Walker {
  offset = 0;
  entries = 0;
  readonly #options: TarOptions;
  readonly #fs: TreeFs;
  readonly #flags: bigint;
  readonly #granularity: bigint | undefined;
  #buffer: Uint8Array | undefined;

  constructor(options: TarOptions, fs: TreeFs) {
    this.#options = options;
    this.#fs = fs;
    this.#flags = options.featureFlags;
    this.#granularity = timeGranularityNs(this.#flags);
  }

  async #emit(bytes: Uint8Array) {
    await this.#options.write(bytes);
    this.offset += bytes.length;
  }

  /** Writes the node at `path` (and, for a directory, everything below it). */
  async node(path: string, relative: string, info: FileStat, depth: number): Promise<void> {
    this.#options.signal?.throwIfAborted();
    this.entries++;
    const entryOffset = this.offset;
    const records = this.#entryRecords(path, info);
    switch (info.mode & S_IFMT) {
      case S_IFREG:
        records.push(encodePayloadHeader(info.size));
        await this.#emit(concatBytes(records));
        await this.#payload(path, info);
        return;
      case S_IFLNK:
        records.push(encodeStringRecord(CA_FORMAT_SYMLINK, this.#target(path)));
        await this.#emit(concatBytes(records));
        return;
      case S_IFBLK:
      case S_IFCHR:
        records.push(encodeDevice(info.rdevMajor, info.rdevMinor));
        await this.#emit(concatBytes(records));
        return;
      case S_IFIFO:
      case S_IFSOCK:
        await this.#emit(concatBytes(records));
        return;
      case S_IFDIR:
        await this.#emit(concatBytes(records));
        break;
      default:
        throw new DesyncError(
          `${shown(path)}: unknown file type (mode 0o${info.mode.toString(8)})`,
        );
    }
    if (depth >= DEPTH_MAX) {
      throw new DesyncError(`${shown(path)}: nested more than ${DEPTH_MAX} directories deep`);
    }
    const children: GoodbyeChild[] = [];
    for (const name of this.#children(path)) {
      const childPath = path === "/" ? `/${name.text}` : `${path}/${name.text}`;
      const childRelative = relative ? `${relative}/${name.text}` : name.text;
      const childInfo = stat(this.#fs, childPath);
      if (!this.#include(childRelative, name.text, childInfo)) continue;
      const start = this.offset;
      await this.#emit(encodeStringRecord(CA_FORMAT_FILENAME, name.bytes));
      await this.node(childPath, childRelative, childInfo, depth + 1);
      children.push({ hash: goodbyeHash(name.bytes), start, end: this.offset });
    }
    await this.#emit(encodeGoodbye(children, entryOffset, this.offset));
  }

  /** The ENTRY record and the USER/GROUP names, as casync writes them. */
  #entryRecords(path: string, info: FileStat): Uint8Array[] {
    const flags = this.#flags;
    let uid = 0;
    let gid = 0;
    if (flags & (WITH_16BIT_UIDS | WITH_32BIT_UIDS)) {
      if ((flags & WITH_16BIT_UIDS) && (info.uid > 0xffff || info.gid > 0xffff)) {
        throw new DesyncError(`${shown(path)}: owner ${info.uid}:${info.gid} does not fit 16 bits`);
      }
      uid = info.uid;
      gid = info.gid;
    }
    let mtimeNs = 0n;
    if (this.#granularity !== undefined) {
      if (info.mtimeNs < 0n) {
        throw new DesyncError(`${shown(path)}: a modification time before 1970 cannot be archived`);
      }
      mtimeNs = info.mtimeNs / this.#granularity * this.#granularity;
    }
    const records = [encodeEntry({
      featureFlags: flags,
      mode: archivedMode(info.mode, flags),
      flags: 0n,
      uid,
      gid,
      mtimeNs,
    })];
    if (flags & WITH_USER_NAMES) {
      const user = this.#name(info.uid, (id) => this.#options.users?.userName(id));
      const group = this.#name(info.gid, (id) => this.#options.users?.groupName(id));
      if (user) records.push(encodeStringRecord(CA_FORMAT_USER, encoder.encode(user)));
      if (group) records.push(encodeStringRecord(CA_FORMAT_GROUP, encoder.encode(group)));
    }
    if ((flags & (WITH_XATTRS | WITH_FCAPS)) && (info.mode & S_IFMT) !== S_IFLNK) {
      records.push(...this.#attributeRecords(path, info));
    }
    return records;
  }

  /**
   * XATTR records (user and trusted namespaces, sorted by name) and the FCAPS
   * record of a file's capabilities, as casync reads them; symlinks have none.
   */
  #attributeRecords(path: string, info: FileStat): Uint8Array[] {
    const flags = this.#flags;
    // tar() has checked that the flags asked for are ones this file-system access reads.
    const xattrs = this.#fs.xattrs!;
    const records: Uint8Array[] = [];
    let fcaps: Uint8Array | undefined;
    const attributes = posixCall(() => xattrs.list(path))
      .sort(compareBytes)
      .flatMap((name) => {
        if ((flags & WITH_XATTRS) && isArchivedXattr(name)) return [name];
        if (
          (flags & WITH_FCAPS) && (info.mode & S_IFMT) === S_IFREG && equalBytes(name, FCAPS_XATTR)
        ) {
          fcaps = posixCall(() => xattrs.get(path, name));
        }
        return [];
      });
    for (const name of attributes) {
      const value = posixCall(() => xattrs.get(path, name));
      // An attribute removed since it was listed is simply not there.
      if (value !== undefined) records.push(encodeXattr(name, value));
    }
    if (fcaps !== undefined) records.push(encodeBytesRecord(CA_FORMAT_FCAPS, fcaps));
    return records;
  }

  /**
   * casync's rule for a name: none for ID 0 (root is implied); an unknown ID has
   * none when numeric IDs are recorded, else its number stands in.
   */
  #name(id: number, lookup: (id: number) => string | undefined): string | undefined {
    if (id === 0) return undefined;
    const name = lookup(id);
    if (name !== undefined) return name;
    return this.#flags & (WITH_16BIT_UIDS | WITH_32BIT_UIDS) ? undefined : String(id);
  }

  #include(relative: string, name: string, info: FileStat): boolean {
    const kind = kindOf(info.mode);
    const needs = kind && KIND_FEATURE[kind];
    if (needs !== undefined && !(this.#flags & needs)) return false;
    return !this.#options.exclude?.(relative, name, info);
  }

  /** A directory's entries in casync's order: by name, compared as bytes. */
  #children(path: string): { text: string; bytes: Uint8Array }[] {
    let names: string[];
    try {
      names = Array.from(Deno.readDirSync(path), (entry) => entry.name);
    } catch (error) {
      throw new DesyncError(
        `${shown(path)}: cannot read the directory: ${describeFsError(error)}`,
        {
          cause: error,
        },
      );
    }
    return names.map((text) => ({ text, bytes: encoder.encode(text) }))
      .sort((a, b) => compareBytes(a.bytes, b.bytes));
  }

  #target(path: string): Uint8Array {
    return posixCall(() => this.#fs.readLink(path));
  }

  /** Streams a file's contents; it must still be the file we stat'ed and as long. */
  async #payload(path: string, info: FileStat) {
    if (info.size === 0) return;
    // Without O_NONBLOCK, a FIFO put in the file's place after its stat would
    // block the open until some writer came. Deno's own open takes no such flag.
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      throw new DesyncError(`${shown(path)}: cannot open: ${describeFsError(error)}`, {
        cause: error,
      });
    }
    // Only the file's own calls fail as "cannot read": an error writing the
    // archive (a full disk, a reader gone from a pipe) passes through as it is.
    const read = <T>(call: () => T): T => {
      try {
        return call();
      } catch (error) {
        throw new DesyncError(`${shown(path)}: cannot read: ${describeFsError(error)}`, {
          cause: error,
        });
      }
    };
    try {
      // Deno follows symlinks when it opens (it resolves them to check its
      // permissions), and a freed inode number is soon reused: the open file
      // must be a regular file with the inode we stat'ed.
      // Deno reports inode numbers as numbers (its BigInt stat converts the same
      // number, and costs more per file): the stat'ed one is compared as a number.
      const opened = read(() => fstatSync(fd));
      if (!opened.isFile() || opened.ino !== Number(info.ino)) {
        throw new DesyncError(`${shown(path)}: replaced while being archived`);
      }
      const buffer = this.#buffer ??= new Uint8Array(READ_BUFFER);
      let left = info.size;
      while (left > 0) {
        this.#options.signal?.throwIfAborted();
        const n = read(() => readSync(fd, buffer, 0, Math.min(left, READ_BUFFER), null));
        if (n === 0) {
          throw new DesyncError(`${shown(path)}: shrank while being archived`);
        }
        await this.#emit(buffer.subarray(0, n));
        left -= n;
      }
    } finally {
      closeSync(fd);
    }
  }
}

export interface TarIndexOptions extends Omit<TarOptions, "write"> {
  /** Where the archive's chunks go; undefined to only compute the index. */
  store?: WriteStore;
  codec: CodecPool;
  params: ChunkerParams;
  concurrency: number;
}

/**
 * tar -i: the archive is chunked as it is made, never written out whole. The
 * index (the .caidx's bytes, made from a table without an object per chunk)
 * carries the archive's feature flags, as casync's .caidx does.
 */
export async function tarIndex(
  options: TarIndexOptions,
): Promise<{ index: Uint8Array; stats: MakeStats; tar: TarStats }> {
  const { params } = options;
  const chunker = new StreamChunker({
    store: options.store,
    codec: options.codec,
    params,
    digest: digestOf(options),
    concurrency: options.concurrency,
    signal: options.signal,
  });
  const tarStats = await tar({ ...options, write: (bytes) => chunker.write(bytes) });
  const { table, stats } = await chunker.finish();
  const index = table.encode({
    featureFlags: options.featureFlags,
    chunkSizeMin: params.min,
    chunkSizeAvg: params.avg,
    chunkSizeMax: params.max,
  });
  return { index, stats, tar: tarStats };
}
