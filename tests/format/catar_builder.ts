/**
 * Builds catar archives in memory for tests, from the record encoders: children
 * go in the order given (not sorted), so tests can also build archives that a
 * correct writer never would. Goodbye tables are computed from the real offsets
 * unless a test replaces them.
 */
import {
  CA_FORMAT_FCAPS,
  CA_FORMAT_FILENAME,
  CA_FORMAT_GROUP,
  CA_FORMAT_SYMLINK,
  CA_FORMAT_USER,
  encodeBytesRecord,
  encodeDevice,
  encodeEntry,
  encodeGoodbye,
  encodePayloadHeader,
  encodeStringRecord,
  encodeXattr,
  type GoodbyeChild,
  goodbyeHash,
  S_IFDIR,
  S_IFREG,
  SHA512_256,
  WITH_32BIT_UIDS,
  WITH_DEVICE_NODES,
  WITH_FIFOS,
  WITH_NSEC_TIME,
  WITH_PERMISSIONS,
  WITH_SOCKETS,
  WITH_SYMLINKS,
  WITH_USER_NAMES,
  WITH_XATTRS,
} from "../../src/format/catar.ts";
import { concatBytes } from "../../src/util/bytes.ts";

export const TEST_FLAGS = WITH_32BIT_UIDS | WITH_USER_NAMES | WITH_NSEC_TIME | WITH_PERMISSIONS |
  WITH_SYMLINKS | WITH_DEVICE_NODES | WITH_FIFOS | WITH_SOCKETS | WITH_XATTRS | SHA512_256;

export interface TestNode {
  name?: string | Uint8Array;
  mode: number;
  uid?: number;
  gid?: number;
  mtimeNs?: bigint;
  user?: string;
  group?: string;
  xattrs?: [string, Uint8Array][];
  fcaps?: Uint8Array;
  data?: Uint8Array;
  target?: string;
  major?: number;
  minor?: number;
  children?: TestNode[];
}

export interface BuildOptions {
  flags?: bigint;
  /** Replaces a directory's goodbye record (given the correct one). */
  goodbye?: (correct: Uint8Array, dir: TestNode) => Uint8Array;
}

const encoder = new TextEncoder();

export const directory = (
  name: string | undefined,
  children: TestNode[],
  mode = 0o755,
): TestNode => ({
  name,
  mode: S_IFDIR | mode,
  children,
});

export const file = (name: string, data: string | Uint8Array, mode = 0o644): TestNode => ({
  name,
  mode: S_IFREG | mode,
  data: typeof data === "string" ? encoder.encode(data) : data,
});

/**
 * A root of `dirs` directories (d00, d01, …) of `files` small files each
 * (f000, f001, …), each file holding its own name: one archive of many entries.
 */
export function wideTree(dirs: number, files: number): TestNode {
  const names = Array.from({ length: files }, (_, i) => `f${String(i).padStart(3, "0")}`);
  const width = String(dirs - 1).length;
  return directory(
    undefined,
    Array.from(
      { length: dirs },
      (_, d) =>
        directory(`d${String(d).padStart(Math.max(2, width), "0")}`, names.map((n) => file(n, n))),
    ),
  );
}

export function nameBytes(name: string | Uint8Array): Uint8Array {
  return typeof name === "string" ? encoder.encode(name) : name;
}

export function buildArchive(root: TestNode, options: BuildOptions = {}): Uint8Array {
  const flags = options.flags ?? TEST_FLAGS;
  const parts: Uint8Array[] = [];
  let offset = 0;
  const emit = (bytes: Uint8Array) => {
    parts.push(bytes);
    offset += bytes.length;
  };
  const node = (n: TestNode) => {
    const entryOffset = offset;
    emit(encodeEntry({
      featureFlags: flags,
      mode: n.mode,
      flags: 0n,
      uid: n.uid ?? 0,
      gid: n.gid ?? 0,
      mtimeNs: n.mtimeNs ?? 1_600_000_000_123_456_789n,
    }));
    if (n.user) emit(encodeStringRecord(CA_FORMAT_USER, encoder.encode(n.user)));
    if (n.group) emit(encodeStringRecord(CA_FORMAT_GROUP, encoder.encode(n.group)));
    for (const [name, value] of n.xattrs ?? []) emit(encodeXattr(encoder.encode(name), value));
    if (n.fcaps) emit(encodeBytesRecord(CA_FORMAT_FCAPS, n.fcaps));
    if (n.data) {
      emit(encodePayloadHeader(n.data.length));
      emit(n.data);
    }
    if (n.target !== undefined) {
      emit(encodeStringRecord(CA_FORMAT_SYMLINK, encoder.encode(n.target)));
    }
    if (n.major !== undefined) emit(encodeDevice(n.major, n.minor ?? 0));
    if (n.children) {
      const children: GoodbyeChild[] = [];
      for (const child of n.children) {
        const start = offset;
        const name = nameBytes(child.name!);
        emit(encodeStringRecord(CA_FORMAT_FILENAME, name));
        node(child);
        children.push({ hash: goodbyeHash(name), start, end: offset });
      }
      const correct = encodeGoodbye(children, entryOffset, offset);
      emit(options.goodbye ? options.goodbye(correct, n) : correct);
    }
  };
  node(root);
  return concatBytes(parts);
}
