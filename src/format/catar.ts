/**
 * casync's archive format (catar), the facts of casync's src/caformat.h: a
 * stream of records, each a 16-byte header (size including the header, type)
 * and a body. A node is an ENTRY (stat data), optional USER/GROUP names and
 * other metadata, then by type a PAYLOAD (file contents), a SYMLINK target, a
 * DEVICE number, or for a directory its children, each a FILENAME and the
 * child's node, closed by a GOODBYE table that indexes the children by the
 * SipHash of their names. This module builds records; catar_decoder.ts reads
 * them. Pure: bytes in, bytes out.
 */
import {
  FEATURE_FLAGS_MAX,
  WITH_16BIT_UIDS,
  WITH_2SEC_TIME,
  WITH_32BIT_UIDS,
  WITH_ACL,
  WITH_DEVICE_NODES,
  WITH_FCAPS,
  WITH_FIFOS,
  WITH_NSEC_TIME,
  WITH_PERMISSIONS,
  WITH_QUOTA_PROJID,
  WITH_READ_ONLY,
  WITH_SEC_TIME,
  WITH_SELINUX,
  WITH_SOCKETS,
  WITH_SYMLINKS,
  WITH_USEC_TIME,
  WITH_USER_NAMES,
  WITH_XATTRS,
} from "./feature_flags.ts";
import { siphash24 } from "./siphash.ts";

export const CA_FORMAT_ENTRY = 0x1396fabcea5bbb51n;
export const CA_FORMAT_USER = 0xf453131aaeeaccb3n;
export const CA_FORMAT_GROUP = 0x25eb6ac969396a52n;
export const CA_FORMAT_XATTR = 0xb8157091f80bc486n;
export const CA_FORMAT_ACL_USER = 0x297dc88b2ef12fafn;
export const CA_FORMAT_ACL_GROUP = 0x36f2acb56cb3dd0bn;
export const CA_FORMAT_ACL_GROUP_OBJ = 0x23047110441f38f3n;
export const CA_FORMAT_ACL_DEFAULT = 0xfe3eeda6823c8cd0n;
export const CA_FORMAT_ACL_DEFAULT_USER = 0xbdf03df9bd010a91n;
export const CA_FORMAT_ACL_DEFAULT_GROUP = 0xa0cb1168782d1f51n;
export const CA_FORMAT_FCAPS = 0xf7267db0afed0629n;
export const CA_FORMAT_QUOTA_PROJID = 0x161baf2d8772a72bn;
export const CA_FORMAT_SELINUX = 0x46faf0602fd26c59n;
export const CA_FORMAT_SYMLINK = 0x664a6fb6830e0d6cn;
export const CA_FORMAT_DEVICE = 0xac3dace369dfe643n;
export const CA_FORMAT_PAYLOAD = 0x8b9e1d93d6dcffc9n;
export const CA_FORMAT_FILENAME = 0x6dbb6ebcb3161f0bn;
export const CA_FORMAT_GOODBYE = 0xdfd35c5e8327c403n;
export const CA_FORMAT_GOODBYE_TAIL_MARKER = 0x57446fa533702943n;

export * from "./feature_flags.ts";

/** The names casync's `--with=`/`--without=` take for single feature bits. */
export const FEATURE_NAMES: ReadonlyMap<string, bigint> = new Map([
  ["16bit-uids", WITH_16BIT_UIDS],
  ["32bit-uids", WITH_32BIT_UIDS],
  ["user-names", WITH_USER_NAMES],
  ["sec-time", WITH_SEC_TIME],
  ["usec-time", WITH_USEC_TIME],
  ["nsec-time", WITH_NSEC_TIME],
  ["2sec-time", WITH_2SEC_TIME],
  ["read-only", WITH_READ_ONLY],
  ["permissions", WITH_PERMISSIONS],
  ["symlinks", WITH_SYMLINKS],
  ["device-nodes", WITH_DEVICE_NODES],
  ["fifos", WITH_FIFOS],
  ["sockets", WITH_SOCKETS],
  ["xattrs", WITH_XATTRS],
  ["acl", WITH_ACL],
  ["selinux", WITH_SELINUX],
  ["fcaps", WITH_FCAPS],
  ["quota-projid", WITH_QUOTA_PROJID],
]);

/** The 16-byte SipHash key of goodbye tables (CA_FORMAT_GOODBYE_HASH_KEY). */
// deno-fmt-ignore
const GOODBYE_HASH_KEY = new Uint8Array([
  0xb3, 0x84, 0x1d, 0x0f, 0x2b, 0x44, 0x74, 0x85, 0xc1, 0x2e, 0xc2, 0xd1, 0x30, 0xed, 0x36, 0x27,
]);

export const HEADER_SIZE = 16;
export const ENTRY_SIZE = 64;
export const DEVICE_SIZE = 32;
export const GOODBYE_ITEM_SIZE = 24;
/** Size limits of caformat.h: names carry their NUL; Linux's NAME_MAX, PATH_MAX, LOGIN_NAME_MAX. */
export const FILENAME_SIZE_MAX = HEADER_SIZE + 256;
export const SYMLINK_SIZE_MAX = HEADER_SIZE + 4096;
export const USER_SIZE_MAX = HEADER_SIZE + 256;
export const XATTR_SIZE_MAX = HEADER_SIZE + 255 + 1 + 64 * 1024;
export const SELINUX_SIZE_MAX = HEADER_SIZE + 4096;
export const FCAPS_SIZE_MAX = HEADER_SIZE + 64 * 1024;
/** An ACL user/group record: header, id, permissions, optional NUL-terminated name. */
export const ACL_ENTRY_SIZE_MAX = HEADER_SIZE + 16 + 256;

/** File type bits of a mode, as in <sys/stat.h>. */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** Nesting deeper than this is refused, by tar and by the decoder (casync itself stops at 64). */
export const DEPTH_MAX = 4096;

export type NodeKind = "directory" | "file" | "symlink" | "device" | "fifo" | "socket";

/** A node's kind from the type bits of its mode, or undefined for an unknown type. */
export function kindOf(mode: number): NodeKind | undefined {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return "directory";
    case S_IFREG:
      return "file";
    case S_IFLNK:
      return "symlink";
    case S_IFBLK:
    case S_IFCHR:
      return "device";
    case S_IFIFO:
      return "fifo";
    case S_IFSOCK:
      return "socket";
  }
  return undefined;
}

/** The feature bit a node of this kind needs in the archive's flags. */
export const KIND_FEATURE: Readonly<Partial<Record<NodeKind, bigint>>> = {
  symlink: WITH_SYMLINKS,
  device: WITH_DEVICE_NODES,
  fifo: WITH_FIFOS,
  socket: WITH_SOCKETS,
};

/** The fixed part of a node: its ENTRY record. */
export interface Entry {
  readonly featureFlags: bigint;
  /** File type and permission bits. */
  readonly mode: number;
  /** chattr(1)/FAT flags and subvolume bits, in feature-flag positions. */
  readonly flags: bigint;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeNs: bigint;
}

/** SipHash of a name with the goodbye key: what a goodbye item stores. */
export function goodbyeHash(name: Uint8Array): bigint {
  return siphash24(name, GOODBYE_HASH_KEY);
}

function header(bytes: Uint8Array, at: number, size: number, type: bigint): DataView {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setBigUint64(at, BigInt(size), true);
  view.setBigUint64(at + 8, type, true);
  return view;
}

export function encodeEntry(entry: Entry): Uint8Array {
  const bytes = new Uint8Array(ENTRY_SIZE);
  const view = header(bytes, 0, ENTRY_SIZE, CA_FORMAT_ENTRY);
  view.setBigUint64(16, entry.featureFlags, true);
  view.setBigUint64(24, BigInt(entry.mode), true);
  view.setBigUint64(32, entry.flags, true);
  view.setBigUint64(40, BigInt(entry.uid), true);
  view.setBigUint64(48, BigInt(entry.gid), true);
  view.setBigUint64(56, entry.mtimeNs, true);
  return bytes;
}

/** A record whose body is a NUL-terminated string: USER, GROUP, FILENAME, SYMLINK. */
export function encodeStringRecord(type: bigint, text: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE + text.length + 1);
  header(bytes, 0, bytes.length, type);
  bytes.set(text, HEADER_SIZE);
  return bytes;
}

/** A record whose body is raw bytes (FCAPS). */
export function encodeBytesRecord(type: bigint, data: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE + data.length);
  header(bytes, 0, bytes.length, type);
  bytes.set(data, HEADER_SIZE);
  return bytes;
}

/** An XATTR record: the name, a NUL, the value. */
export function encodeXattr(name: Uint8Array, value: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE + name.length + 1 + value.length);
  header(bytes, 0, bytes.length, CA_FORMAT_XATTR);
  bytes.set(name, HEADER_SIZE);
  bytes.set(value, HEADER_SIZE + name.length + 1);
  return bytes;
}

/**
 * Whether an extended attribute name is well formed as casync sees it: at most
 * 255 bytes, with a dot that is neither first nor last ("namespace.name").
 */
export function isValidXattrName(name: Uint8Array): boolean {
  const dot = name.indexOf(0x2e);
  return name.length <= 255 && dot > 0 && dot < name.length - 1 && !name.includes(0);
}

/**
 * Whether casync keeps an extended attribute as an XATTR record: only the
 * "user." and "trusted." namespaces; the others have records of their own
 * (file capabilities, SELinux labels, ACLs) or none.
 */
export function isArchivedXattr(name: Uint8Array): boolean {
  if (!isValidXattrName(name)) return false;
  const text = new TextDecoder().decode(name);
  return text.startsWith("user.") || text.startsWith("trusted.");
}

/** The extended attribute that holds a file's capabilities (an FCAPS record). */
export const FCAPS_XATTR = new TextEncoder().encode("security.capability");

/** The header of a PAYLOAD record; the `size` bytes of contents follow it. */
export function encodePayloadHeader(size: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE);
  header(bytes, 0, HEADER_SIZE + size, CA_FORMAT_PAYLOAD);
  return bytes;
}

export function encodeDevice(major: number, minor: number): Uint8Array {
  const bytes = new Uint8Array(DEVICE_SIZE);
  const view = header(bytes, 0, DEVICE_SIZE, CA_FORMAT_DEVICE);
  view.setBigUint64(16, BigInt(major), true);
  view.setBigUint64(24, BigInt(minor), true);
  return bytes;
}

/** One child of a directory, by archive offsets: its FILENAME record start and its end. */
export interface GoodbyeChild {
  readonly hash: bigint;
  readonly start: number;
  readonly end: number;
}

/** The size of the goodbye record of a directory with `children` entries. */
export function goodbyeSize(children: number): number {
  return HEADER_SIZE + (children + 1) * GOODBYE_ITEM_SIZE;
}

/** casync's order of goodbye items before they are laid out as a search tree. */
export function compareGoodbyeChildren(a: GoodbyeChild, b: GoodbyeChild): number {
  if (a.hash !== b.hash) return a.hash < b.hash ? -1 : 1;
  return a.start - b.start;
}

/**
 * The permutation that lays a sorted array out as a complete binary search tree
 * in array form (children of i at 2i+1 and 2i+2): an in-order walk of the tree's
 * slots visits them in sorted order. Returns, for each slot, the sorted index.
 */
export function searchTreeOrder(n: number): number[] {
  const order = new Array<number>(n);
  let next = 0;
  // Iterative in-order traversal of the implicit tree with slots 0..n-1.
  const stack: number[] = [];
  let slot = 0;
  while (stack.length > 0 || slot < n) {
    while (slot < n) {
      stack.push(slot);
      slot = 2 * slot + 1;
    }
    const top = stack.pop()!;
    order[top] = next++;
    slot = 2 * top + 2;
  }
  return order;
}

/**
 * The GOODBYE record closing a directory whose ENTRY is at `entryOffset` and
 * whose goodbye starts at `goodbyeOffset`: one item per child (its distance back
 * from the goodbye, its size, its name hash) in search-tree order, then a tail
 * with the distance back to the ENTRY, the record size and the marker.
 */
export function encodeGoodbye(
  children: readonly GoodbyeChild[],
  entryOffset: number,
  goodbyeOffset: number,
): Uint8Array {
  const size = goodbyeSize(children.length);
  const bytes = new Uint8Array(size);
  const view = header(bytes, 0, size, CA_FORMAT_GOODBYE);
  const sorted = [...children].sort(compareGoodbyeChildren);
  const order = searchTreeOrder(sorted.length);
  for (let slot = 0; slot < sorted.length; slot++) {
    const child = sorted[order[slot]];
    const at = HEADER_SIZE + slot * GOODBYE_ITEM_SIZE;
    view.setBigUint64(at, BigInt(goodbyeOffset - child.start), true);
    view.setBigUint64(at + 8, BigInt(child.end - child.start), true);
    view.setBigUint64(at + 16, child.hash, true);
  }
  const tail = size - GOODBYE_ITEM_SIZE;
  view.setBigUint64(tail, BigInt(goodbyeOffset - entryOffset), true);
  view.setBigUint64(tail + 8, BigInt(size), true);
  view.setBigUint64(tail + 16, CA_FORMAT_GOODBYE_TAIL_MARKER, true);
  return bytes;
}

/** Byte-wise comparison, as strcmp orders names (and as casync sorts directory entries). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/** casync's time granularities, finest first: the feature bit and its step in nanoseconds. */
export const TIME_GRANULARITIES: readonly (readonly [bigint, bigint])[] = [
  [WITH_NSEC_TIME, 1n],
  [WITH_USEC_TIME, 1000n],
  [WITH_SEC_TIME, 1_000_000_000n],
  [WITH_2SEC_TIME, 2_000_000_000n],
];

/** The time granularity in nanoseconds a feature set records, or undefined when none. */
export function timeGranularityNs(flags: bigint): bigint | undefined {
  return TIME_GRANULARITIES.find(([bit]) => flags & bit)?.[1];
}

/** The mode an archive records for a file, given what its feature set keeps. */
export function archivedMode(mode: number, flags: bigint): number {
  const type = mode & S_IFMT;
  if (type === S_IFLNK) return S_IFLNK | 0o777;
  if (flags & (WITH_PERMISSIONS | WITH_ACL)) return mode & (S_IFMT | 0o7777);
  const isDir = type === S_IFDIR;
  if ((flags & WITH_READ_ONLY) && !(mode & 0o222)) return type | (isDir ? 0o555 : 0o444);
  return type | (isDir ? 0o777 : 0o666);
}

/**
 * The feature flags of an archive, from its first bytes (its root ENTRY record),
 * or undefined when the bytes do not begin a catar archive.
 */
export function archiveFeatureFlags(start: Uint8Array): bigint | undefined {
  if (start.length < ENTRY_SIZE) return undefined;
  const view = new DataView(start.buffer, start.byteOffset, ENTRY_SIZE);
  if (view.getBigUint64(0, true) !== BigInt(ENTRY_SIZE)) return undefined;
  if (view.getBigUint64(8, true) !== CA_FORMAT_ENTRY) return undefined;
  const flags = view.getBigUint64(16, true);
  return flags & ~FEATURE_FLAGS_MAX ? undefined : flags;
}
