/**
 * A streaming reader of casync archives: bytes are pushed in as they arrive (in
 * any pieces) and come out as events: a node with its metadata, its payload
 * bytes (views of the input, not copies), its end. Only one record is buffered
 * at a time and every record but a payload has a bounded size, so memory does
 * not grow with the archive; per open directory it keeps three numbers per child
 * to check the goodbye table.
 *
 * The checks are casync's (src/cadecoder.c), plus what makes unpacking safe:
 * every name is one path component (no "/", ".", ".."), and siblings come in
 * strictly increasing byte order, so no name repeats and no entry can be reached
 * through another (a symlink, say) that the archive made earlier.
 */
import { ArchiveFormatError } from "../errors.ts";
import { escapeControls } from "../util/printable.ts";
import { INDEX_MAGIC } from "./index.ts";
import {
  ACL_ENTRY_SIZE_MAX,
  CA_FORMAT_ACL_DEFAULT,
  CA_FORMAT_ACL_DEFAULT_GROUP,
  CA_FORMAT_ACL_DEFAULT_USER,
  CA_FORMAT_ACL_GROUP,
  CA_FORMAT_ACL_GROUP_OBJ,
  CA_FORMAT_ACL_USER,
  CA_FORMAT_DEVICE,
  CA_FORMAT_ENTRY,
  CA_FORMAT_FCAPS,
  CA_FORMAT_FILENAME,
  CA_FORMAT_GOODBYE,
  CA_FORMAT_GOODBYE_TAIL_MARKER,
  CA_FORMAT_GROUP,
  CA_FORMAT_PAYLOAD,
  CA_FORMAT_QUOTA_PROJID,
  CA_FORMAT_SELINUX,
  CA_FORMAT_SYMLINK,
  CA_FORMAT_USER,
  CA_FORMAT_XATTR,
  compareBytes,
  compareGoodbyeChildren,
  DEPTH_MAX,
  DEVICE_SIZE,
  type Entry,
  ENTRY_SIZE,
  FCAPS_SIZE_MAX,
  featureFlagsProblem,
  FILENAME_SIZE_MAX,
  GOODBYE_ITEM_SIZE,
  type GoodbyeChild,
  goodbyeHash,
  goodbyeSize,
  HEADER_SIZE,
  isValidXattrName,
  KIND_FEATURE,
  kindOf,
  type NodeKind,
  S_IFMT,
  SELINUX_SIZE_MAX,
  SYMLINK_SIZE_MAX,
  USER_SIZE_MAX,
  WITH_CHATTR,
  WITH_FAT_ATTRS,
  WITH_SUBVOLUME,
  WITH_SUBVOLUME_RO,
  WITH_XATTRS,
  XATTR_SIZE_MAX,
} from "./catar.ts";

export type { NodeKind };

export interface Xattr {
  readonly name: Uint8Array;
  readonly value: Uint8Array;
}

/** A node of the tree, with everything its records said. */
export interface ArchiveNode {
  /** Path from the root for messages ("." for the root), decoded leniently, controls escaped. */
  readonly path: string;
  /** The node's name as stored (empty for the root). */
  readonly name: Uint8Array;
  /** 0 for the root, 1 for its children, … */
  readonly depth: number;
  readonly kind: NodeKind;
  readonly entry: Entry;
  readonly user?: string;
  readonly group?: string;
  readonly xattrs: readonly Xattr[];
  /** A file's capabilities (the raw security.capability attribute), when recorded. */
  readonly fcaps?: Uint8Array;
  /** Metadata records present that only casync restores: "acl", "selinux", "quota-projid". */
  readonly other: readonly string[];
  /** Payload size of a file. */
  readonly size: number;
  /** A symlink's target as stored. */
  readonly target?: Uint8Array;
  readonly major?: number;
  readonly minor?: number;
}

export type ArchiveEvent =
  | { readonly type: "node"; readonly node: ArchiveNode }
  /** Payload bytes of the file last announced; a view of the pushed input. */
  | { readonly type: "data"; readonly bytes: Uint8Array }
  /** The node is complete (after a file's payload, at a directory's goodbye). */
  | { readonly type: "end"; readonly node: ArchiveNode };

/** Where the decoder is between records. */
type Phase = "root" | "entry" | "meta" | "payload" | "next" | "done";

interface OpenNode {
  path: string;
  name: Uint8Array;
  depth: number;
  entryOffset: number;
  entry?: Entry;
  user?: string;
  group?: string;
  xattrs: Xattr[];
  xattrBytes: number;
  fcaps?: Uint8Array;
  /** Made at the first such record (most nodes have none). */
  other?: Set<string>;
  /** The rank of the last metadata record, to keep casync's order. */
  rank: number;
}

interface OpenDir {
  node: ArchiveNode;
  entryOffset: number;
  children: GoodbyeChild[];
  lastName?: Uint8Array;
  /** Offset of the FILENAME record of the child being read. */
  childStart: number;
  childHash: bigint;
}

/** Metadata records in the order casync writes them; `repeat` allows several of a kind. */
const META: ReadonlyMap<bigint, { rank: number; repeat: boolean; min: number; max: number }> =
  new Map([
    [CA_FORMAT_USER, { rank: 1, repeat: false, min: HEADER_SIZE + 2, max: USER_SIZE_MAX }],
    [CA_FORMAT_GROUP, { rank: 2, repeat: false, min: HEADER_SIZE + 2, max: USER_SIZE_MAX }],
    [CA_FORMAT_XATTR, { rank: 3, repeat: true, min: HEADER_SIZE + 2, max: XATTR_SIZE_MAX }],
    [CA_FORMAT_ACL_USER, { rank: 4, repeat: true, min: HEADER_SIZE + 16, max: ACL_ENTRY_SIZE_MAX }],
    [CA_FORMAT_ACL_GROUP, {
      rank: 5,
      repeat: true,
      min: HEADER_SIZE + 16,
      max: ACL_ENTRY_SIZE_MAX,
    }],
    [CA_FORMAT_ACL_GROUP_OBJ, { rank: 6, repeat: false, min: 24, max: 24 }],
    [CA_FORMAT_ACL_DEFAULT, { rank: 7, repeat: false, min: 48, max: 48 }],
    [CA_FORMAT_ACL_DEFAULT_USER, {
      rank: 8,
      repeat: true,
      min: HEADER_SIZE + 16,
      max: ACL_ENTRY_SIZE_MAX,
    }],
    [CA_FORMAT_ACL_DEFAULT_GROUP, {
      rank: 9,
      repeat: true,
      min: HEADER_SIZE + 16,
      max: ACL_ENTRY_SIZE_MAX,
    }],
    [CA_FORMAT_SELINUX, { rank: 10, repeat: false, min: HEADER_SIZE + 2, max: SELINUX_SIZE_MAX }],
    [CA_FORMAT_FCAPS, { rank: 11, repeat: false, min: HEADER_SIZE, max: FCAPS_SIZE_MAX }],
    [CA_FORMAT_QUOTA_PROJID, { rank: 12, repeat: false, min: 24, max: 24 }],
  ]);

const OTHER_NAMES: ReadonlyMap<bigint, string> = new Map([
  [CA_FORMAT_ACL_USER, "acl"],
  [CA_FORMAT_ACL_GROUP, "acl"],
  [CA_FORMAT_ACL_GROUP_OBJ, "acl"],
  [CA_FORMAT_ACL_DEFAULT, "acl"],
  [CA_FORMAT_ACL_DEFAULT_USER, "acl"],
  [CA_FORMAT_ACL_DEFAULT_GROUP, "acl"],
  [CA_FORMAT_SELINUX, "selinux"],
  [CA_FORMAT_QUOTA_PROJID, "quota-projid"],
]);

const TYPE_NAMES: ReadonlyMap<bigint, string> = new Map([
  [CA_FORMAT_ENTRY, "ENTRY"],
  [CA_FORMAT_USER, "USER"],
  [CA_FORMAT_GROUP, "GROUP"],
  [CA_FORMAT_XATTR, "XATTR"],
  [CA_FORMAT_SELINUX, "SELINUX"],
  [CA_FORMAT_FCAPS, "FCAPS"],
  [CA_FORMAT_QUOTA_PROJID, "QUOTA_PROJID"],
  [CA_FORMAT_SYMLINK, "SYMLINK"],
  [CA_FORMAT_DEVICE, "DEVICE"],
  [CA_FORMAT_PAYLOAD, "PAYLOAD"],
  [CA_FORMAT_FILENAME, "FILENAME"],
  [CA_FORMAT_GOODBYE, "GOODBYE"],
]);

/**
 * What the decoder knows of a record type, found by its 64-bit value read as two
 * 32-bit halves: the per-record checks then allocate nothing (a BigInt read, a
 * Map keyed by BigInts and a message built in advance cost more than the rest
 * of the check, 60 000 times for 20 000 files).
 */
interface RecordType {
  readonly type: bigint;
  /** The type's high 32 bits (the table is keyed by the low ones). */
  readonly high: number;
  readonly meta?: { rank: number; repeat: boolean; min: number; max: number };
  /** Size bounds of a record of fixed or limited size (GOODBYE's depends on the directory). */
  readonly min?: number;
  readonly max?: number;
}

const RECORD_TYPES = new Map<number, RecordType>();
for (
  const [type, min, max] of [
    [CA_FORMAT_ENTRY, ENTRY_SIZE, ENTRY_SIZE],
    [CA_FORMAT_DEVICE, DEVICE_SIZE, DEVICE_SIZE],
    [CA_FORMAT_SYMLINK, HEADER_SIZE + 2, SYMLINK_SIZE_MAX],
    [CA_FORMAT_FILENAME, HEADER_SIZE + 2, FILENAME_SIZE_MAX],
    [CA_FORMAT_GOODBYE],
    [CA_FORMAT_PAYLOAD],
    ...[...META.entries()].map(([type, meta]) => [type, meta.min, meta.max]),
  ] as [bigint, number?, number?][]
) {
  const low = Number(type & 0xffffffffn);
  // The types' low halves differ; a clash would be a programming error caught at load.
  if (RECORD_TYPES.has(low)) throw new Error(`record types share a low half: ${type}`);
  RECORD_TYPES.set(low, { type, high: Number(type >> 32n), meta: META.get(type), min, max });
}
const ENTRY_TYPE = RECORD_TYPES.get(Number(CA_FORMAT_ENTRY & 0xffffffffn))!;
const PAYLOAD_TYPE = RECORD_TYPES.get(Number(CA_FORMAT_PAYLOAD & 0xffffffffn))!;
const FILENAME_TYPE = RECORD_TYPES.get(Number(CA_FORMAT_FILENAME & 0xffffffffn))!;
const GOODBYE_TYPE = RECORD_TYPES.get(Number(CA_FORMAT_GOODBYE & 0xffffffffn))!;
const SYMLINK_TYPE = RECORD_TYPES.get(Number(CA_FORMAT_SYMLINK & 0xffffffffn))!;
const DEVICE_TYPE = RECORD_TYPES.get(Number(CA_FORMAT_DEVICE & 0xffffffffn))!;
/** An index's magic, where an archive's first record type would be: its two 32-bit halves. */
const INDEX_MAGIC_LOW = Number(INDEX_MAGIC & 0xffffffffn);
const INDEX_MAGIC_HIGH = Number(INDEX_MAGIC >> 32n);

function le32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

/** The known record type of a header's type field, undefined for any other value. */
function recordTypeAt(bytes: Uint8Array, at: number): RecordType | undefined {
  const known = RECORD_TYPES.get(le32(bytes, at + 8));
  return known && known.high === le32(bytes, at + 12) ? known : undefined;
}

/** Metadata records of no other kind share one empty list. */
const NO_OTHER: readonly string[] = Object.freeze([]);

/** Extended attributes kept per node at most; more is refused rather than buffered. */
const XATTR_BYTES_MAX = 16 << 20;

const lenient = new TextDecoder();

function typeName(type: bigint): string {
  return TYPE_NAMES.get(type) ?? (OTHER_NAMES.has(type) ? "ACL" : `0x${type.toString(16)}`);
}

export class CatarDecoder {
  readonly #source: string;
  #phase: Phase = "root";
  #offset = 0;
  /** A record being assembled from several pushes. */
  #pending = new Uint8Array(0);
  #pendingLength = 0;
  #payloadLeft = 0;
  #featureFlags: bigint | undefined;
  /** The halves of #featureFlags, to know a repeat of them without making a BigInt. */
  #flagsLow = 0;
  #flagsHigh = 0;
  /** The type of the record whose header was checked last. */
  #recordType: RecordType | undefined;
  readonly #dirs: OpenDir[] = [];
  #node: OpenNode | undefined;
  /** The file whose payload is streaming. */
  #file: ArchiveNode | undefined;

  /** `source` names the archive in error messages. */
  constructor(source = "<archive>") {
    this.#source = source;
  }

  /** The archive's feature flags, known once the first ENTRY is read. */
  get featureFlags(): bigint | undefined {
    return this.#featureFlags;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  /** Whether the root directory's goodbye has been read. */
  get done(): boolean {
    return this.#phase === "done";
  }

  /** Feeds the next bytes of the archive; returns what they complete. */
  push(input: Uint8Array): ArchiveEvent[] {
    const events: ArchiveEvent[] = [];
    let pos = 0;
    while (pos < input.length) {
      if (this.#phase === "payload") {
        const take = Math.min(this.#payloadLeft, input.length - pos);
        events.push({ type: "data", bytes: input.subarray(pos, pos + take) });
        pos += take;
        this.#offset += take;
        this.#payloadLeft -= take;
        if (this.#payloadLeft === 0) this.#endFile(events);
        continue;
      }
      if (this.#phase === "done") {
        this.#fail(`unexpected data after the end of the archive, at byte ${this.#offset}`);
      }
      // A record: its header first, then (unless it is a payload) its whole body.
      if (this.#pendingLength === 0 && input.length - pos >= HEADER_SIZE) {
        const size = this.#checkHeader(input, pos);
        if (size === HEADER_SIZE || input.length - pos >= size) {
          this.#record(input, pos, size, events);
          pos += size;
          continue;
        }
      }
      pos = this.#buffer(input, pos, events);
    }
    return events;
  }

  /** Declares the end of the input; throws unless the archive was complete. */
  end(): void {
    if (this.#phase === "done" && this.#pendingLength === 0) return;
    const where = this.#file?.path ?? this.#node?.path ?? this.#dirs.at(-1)?.node.path;
    this.#fail(
      `truncated at byte ${this.#offset + this.#pendingLength}` +
        (where === undefined ? "" : `, inside "${where}"`),
    );
  }

  /** Copies input into the pending record; processes it once whole. Returns the new position. */
  #buffer(input: Uint8Array, pos: number, events: ArchiveEvent[]): number {
    const want = this.#pendingLength < HEADER_SIZE ? HEADER_SIZE : this.#pendingSize();
    const take = Math.min(want - this.#pendingLength, input.length - pos);
    if (this.#pending.length < want) {
      const grown = new Uint8Array(Math.max(want, HEADER_SIZE));
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(input.subarray(pos, pos + take), this.#pendingLength);
    this.#pendingLength += take;
    if (this.#pendingLength === HEADER_SIZE && want === HEADER_SIZE) {
      // The header is complete: check it before buffering a body of the size it claims.
      const size = this.#checkHeader(this.#pending, 0);
      if (size > HEADER_SIZE) return pos + take;
    }
    if (this.#pendingLength >= HEADER_SIZE && this.#pendingLength === this.#pendingSize()) {
      const record = this.#pending.slice(0, this.#pendingLength);
      this.#pendingLength = 0;
      this.#record(record, 0, record.length, events);
    }
    return pos + take;
  }

  #pendingSize(): number {
    const size = Number(
      new DataView(this.#pending.buffer, 0, HEADER_SIZE).getBigUint64(0, true),
    );
    return this.#isPayload(this.#pending, 0) ? HEADER_SIZE : size;
  }

  #isPayload(bytes: Uint8Array, at: number): boolean {
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, HEADER_SIZE);
    return view.getBigUint64(8, true) === CA_FORMAT_PAYLOAD;
  }

  /**
   * Checks a record header against what may come next and its size limits;
   * returns how many bytes to read as the record (just the header for a payload).
   * The record's type is kept for #record.
   */
  #checkHeader(bytes: Uint8Array, at: number): number {
    const low = le32(bytes, at);
    const high = le32(bytes, at + 4);
    const known = recordTypeAt(bytes, at);
    // Built only for a message: most records pass.
    const where = () => {
      const type = known?.type ?? new DataView(bytes.buffer, bytes.byteOffset + at + 8, 8)
        .getBigUint64(0, true);
      return `${typeName(type)} record at byte ${this.#offset}`;
    };
    if (
      this.#phase === "root" && le32(bytes, at + 8) === INDEX_MAGIC_LOW &&
      le32(bytes, at + 12) === INDEX_MAGIC_HIGH
    ) {
      this.#fail("this is a casync index (.caidx, .caibx), not an archive");
    }
    // Sizes up to 2^53 - 1 (Number.MAX_SAFE_INTEGER) are numbers.
    if ((high === 0 && low < HEADER_SIZE) || high > 0x1fffff) {
      const size = (BigInt(high) << 32n) | BigInt(low);
      this.#fail(`${where()} has an impossible size ${size}`);
    }
    const n = high * 0x100000000 + low;
    if (!known || !this.#allows(known)) {
      this.#fail(`${where()}: ${this.#expectation(this.#expected())}`);
    }
    if (known === GOODBYE_TYPE) {
      const [path, children] = this.#closingDirectory();
      const want = goodbyeSize(children);
      if (n !== want) {
        this.#fail(
          `directory "${path}": goodbye table of ${n} bytes, but ${children} entries need ${want}`,
        );
      }
    } else if (known.min !== undefined && (n < known.min || n > known.max!)) {
      this.#fail(`${where()} has size ${n}, not within ${known.min}..${known.max}`);
    }
    this.#recordType = known;
    return known === PAYLOAD_TYPE ? HEADER_SIZE : n;
  }

  /** The directory a GOODBYE read now would close, and how many entries it has. */
  #closingDirectory(): [string, number] {
    if (this.#phase === "meta") {
      // Right after a node's metadata: the node itself if it is a directory (then
      // empty), else the node ends and the goodbye is its parent's.
      const node = this.#node!;
      if (kindOf(node.entry!.mode) === "directory") return [node.path, 0];
      const dir = this.#dirs.at(-1)!;
      return [dir.node.path, dir.children.length + 1];
    }
    const dir = this.#dirs.at(-1)!;
    return [dir.node.path, dir.children.length];
  }

  /** Record types that may come next; -1n stands for any metadata record. */
  #expected(): bigint[] {
    switch (this.#phase) {
      case "root":
      case "entry":
        return [CA_FORMAT_ENTRY];
      case "next":
        return [CA_FORMAT_FILENAME, CA_FORMAT_GOODBYE];
      case "meta": {
        const kind = kindOf(this.#node!.entry!.mode)!;
        const body = {
          directory: [CA_FORMAT_FILENAME, CA_FORMAT_GOODBYE],
          file: [CA_FORMAT_PAYLOAD],
          symlink: [CA_FORMAT_SYMLINK],
          device: [CA_FORMAT_DEVICE],
          fifo: [CA_FORMAT_FILENAME, CA_FORMAT_GOODBYE],
          socket: [CA_FORMAT_FILENAME, CA_FORMAT_GOODBYE],
        }[kind];
        return [-1n, ...body];
      }
      default:
        return [];
    }
  }

  /** Whether a record of this type may come next (#expected without its lists). */
  #allows(known: RecordType): boolean {
    switch (this.#phase) {
      case "root":
      case "entry":
        return known === ENTRY_TYPE;
      case "next":
        return known === FILENAME_TYPE || known === GOODBYE_TYPE;
      case "meta": {
        if (known.meta) return true;
        const kind = kindOf(this.#node!.entry!.mode)!;
        if (kind === "file") return known === PAYLOAD_TYPE;
        if (kind === "symlink") return known === SYMLINK_TYPE;
        if (kind === "device") return known === DEVICE_TYPE;
        return known === FILENAME_TYPE || known === GOODBYE_TYPE;
      }
      default:
        return false;
    }
  }

  #expectation(allowed: bigint[]): string {
    const names = allowed.filter((t) => t !== -1n).map(typeName);
    const what = allowed.includes(-1n) ? ["metadata", ...names] : names;
    const context = this.#node?.path ?? this.#dirs.at(-1)?.node.path;
    return `expected ${what.join(" or ")}` + (context ? ` for "${context}"` : "");
  }

  /**
   * The record at bytes[at, at + size), its header checked. The common ones (a
   * file's ENTRY, FILENAME and PAYLOAD header) are read in place: a view object
   * per record was most of the decoder's garbage.
   */
  #record(bytes: Uint8Array, at: number, length: number, events: ArchiveEvent[]) {
    const known = this.#recordType!;
    const type = known.type;
    const start = this.#offset;
    if (known === PAYLOAD_TYPE) {
      // Only the header was read; the contents stream through.
      const size = le32(bytes, at) + le32(bytes, at + 4) * 0x100000000 - HEADER_SIZE;
      this.#offset += HEADER_SIZE;
      const node = this.#finishMeta(size);
      this.#file = node;
      events.push({ type: "node", node });
      this.#payloadLeft = size;
      this.#phase = "payload";
      if (size === 0) this.#endFile(events);
      return;
    }
    if (known === FILENAME_TYPE || known === GOODBYE_TYPE) {
      this.#nextInDirectory(type, bytes.subarray(at, at + length), events);
      return;
    }
    this.#offset += length;
    if (known === ENTRY_TYPE) {
      this.#entry(bytes, at, start);
      return;
    }
    const record = bytes.subarray(at, at + length);
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    if (known.meta) {
      this.#meta(type, record);
    } else if (known === SYMLINK_TYPE) {
      const target = this.#string(record, "symlink target");
      if (target.length === 0) this.#fail(`symlink "${this.#node!.path}" has an empty target`);
      const node = this.#finishMeta(0, target);
      events.push({ type: "node", node }, { type: "end", node });
      this.#nodeDone();
    } else if (known === DEVICE_TYPE) {
      const major = view.getBigUint64(16, true);
      const minor = view.getBigUint64(24, true);
      // Linux device numbers: 12-bit major, 20-bit minor.
      if (major >= 1n << 12n || minor >= 1n << 20n) {
        this.#fail(`device "${this.#node!.path}" has an impossible number ${major}:${minor}`);
      }
      const node = this.#finishMeta(0, undefined, Number(major), Number(minor));
      events.push({ type: "node", node }, { type: "end", node });
      this.#nodeDone();
    }
  }

  /**
   * A FILENAME or GOODBYE: a directory's next child or its end. Seen right after
   * a node's metadata, it also ends that node: a directory's entries begin, or a
   * node without a body (fifo, socket) is complete.
   */
  #nextInDirectory(type: bigint, record: Uint8Array, events: ArchiveEvent[]) {
    if (this.#phase === "meta") {
      const node = this.#finishMeta();
      events.push({ type: "node", node });
      if (node.kind === "directory") {
        if (this.#dirs.length >= DEPTH_MAX) {
          this.#fail(`directory "${node.path}" is nested more than ${DEPTH_MAX} levels deep`);
        }
        this.#dirs.push({
          node,
          entryOffset: this.#node!.entryOffset,
          children: [],
          childStart: 0,
          childHash: 0n,
        });
        this.#node = undefined;
        this.#phase = "next";
      } else {
        events.push({ type: "end", node });
        this.#nodeDone();
      }
    }
    const start = this.#offset;
    this.#offset += record.length;
    if (type === CA_FORMAT_FILENAME) this.#filename(record, start);
    else {
      this.#goodbye(
        new DataView(record.buffer, record.byteOffset, record.byteLength),
        start,
        events,
      );
    }
  }

  /** The ENTRY record at bytes[at]: 64-bit fields are read as halves, BigInts made where kept. */
  #entry(bytes: Uint8Array, at: number, start: number) {
    const u64 = (offset: number) => {
      const low = le32(bytes, at + offset);
      const high = le32(bytes, at + offset + 4);
      return high === 0 ? BigInt(low) : (BigInt(high) << 32n) | BigInt(low);
    };
    const flagsLow = le32(bytes, at + 16);
    const flagsHigh = le32(bytes, at + 20);
    // Every entry repeats the archive's flags: the first one's BigInt serves them all.
    const flags = this.#featureFlags !== undefined && flagsLow === this.#flagsLow &&
        flagsHigh === this.#flagsHigh
      ? this.#featureFlags
      : u64(16);
    const modeLow = le32(bytes, at + 24);
    const modeHigh = le32(bytes, at + 28);
    const entryFlags = le32(bytes, at + 32) === 0 && le32(bytes, at + 36) === 0 ? 0n : u64(32);
    const uidLow = le32(bytes, at + 40);
    const uidHigh = le32(bytes, at + 44);
    const gidLow = le32(bytes, at + 48);
    const gidHigh = le32(bytes, at + 52);
    const mtimeNs = u64(56);
    const path = this.#node?.path ?? ".";
    const fail = (detail: string): never => this.#fail(`entry "${path}": ${detail}`);
    if (this.#featureFlags === undefined) {
      const problem = featureFlagsProblem(flags);
      if (problem) fail(`feature flags 0x${flags.toString(16)} ${problem}`);
      this.#featureFlags = flags;
      this.#flagsLow = flagsLow;
      this.#flagsHigh = flagsHigh;
    } else if (flags !== this.#featureFlags) {
      fail(
        `feature flags 0x${flags.toString(16)} differ from the archive's ` +
          `0x${this.#featureFlags.toString(16)}`,
      );
    }
    if (modeHigh !== 0 || (modeLow & ~(S_IFMT | 0o7777)) !== 0) {
      fail(`impossible mode 0o${u64(24).toString(8)}`);
    }
    const kind = kindOf(modeLow);
    if (!kind) fail(`unknown file type in mode 0o${modeLow.toString(8)}`);
    const needs = KIND_FEATURE[kind!];
    if (needs !== undefined && !(flags & needs)) {
      fail(`a ${kind} in an archive whose feature flags exclude them`);
    }
    if (this.#phase === "root" && kind !== "directory") {
      fail("the archive's root is not a directory");
    }
    if (entryFlags !== 0n) {
      const known = flags & (WITH_FAT_ATTRS | WITH_CHATTR | WITH_SUBVOLUME | WITH_SUBVOLUME_RO);
      if (entryFlags & ~known) fail(`flags 0x${entryFlags.toString(16)} outside the feature set`);
      if (kind !== "file" && kind !== "directory") {
        fail("file attribute flags on something that is neither a file nor a directory");
      }
    }
    if (uidHigh !== 0 || uidLow === 0xffffffff || gidHigh !== 0 || gidLow === 0xffffffff) {
      fail(`impossible owner ${u64(40)}:${u64(48)}`);
    }
    if (mtimeNs === 0xffffffffffffffffn) fail("impossible modification time");
    if (this.#phase === "root") {
      this.#node = {
        path: ".",
        name: new Uint8Array(0),
        depth: 0,
        entryOffset: start,
        xattrs: [],
        xattrBytes: 0,
        rank: 0,
      };
    }
    this.#node!.entry = {
      featureFlags: flags,
      mode: modeLow,
      flags: entryFlags,
      uid: uidLow,
      gid: gidLow,
      mtimeNs,
    };
    this.#node!.entryOffset = start;
    this.#phase = "meta";
  }

  #meta(type: bigint, record: Uint8Array) {
    const node = this.#node!;
    const meta = META.get(type)!;
    if (meta.rank < node.rank || (meta.rank === node.rank && !meta.repeat)) {
      this.#fail(`entry "${node.path}": ${typeName(type)} record out of order`);
    }
    node.rank = meta.rank;
    if (type === CA_FORMAT_USER) node.user = lenient.decode(this.#string(record, "user name"));
    else if (type === CA_FORMAT_GROUP) {
      node.group = lenient.decode(this.#string(record, "group name"));
    } else if (type === CA_FORMAT_XATTR) {
      const body = record.subarray(HEADER_SIZE);
      const nul = body.indexOf(0);
      if (nul <= 0 || nul > 255) this.#fail(`entry "${node.path}": malformed extended attribute`);
      const name = body.slice(0, nul);
      if (!(this.#featureFlags! & WITH_XATTRS) || !isValidXattrName(name)) {
        this.#fail(`entry "${node.path}": extended attribute not allowed or malformed`);
      }
      if (kindOf(node.entry!.mode) === "symlink") {
        this.#fail(`entry "${node.path}": a symlink cannot have extended attributes`);
      }
      const last = node.xattrs.at(-1);
      if (last && compareBytes(name, last.name) <= 0) {
        this.#fail(`entry "${node.path}": extended attributes out of order`);
      }
      node.xattrBytes += body.length;
      if (node.xattrBytes > XATTR_BYTES_MAX) {
        this.#fail(`entry "${node.path}": more than ${XATTR_BYTES_MAX} bytes of attributes`);
      }
      node.xattrs.push({ name, value: body.slice(nul + 1) });
    } else if (type === CA_FORMAT_FCAPS) {
      if (kindOf(node.entry!.mode) !== "file") {
        this.#fail(`entry "${node.path}": capabilities on something that is not a file`);
      }
      node.fcaps = record.slice(HEADER_SIZE);
    } else {
      (node.other ??= new Set()).add(OTHER_NAMES.get(type)!);
    }
  }

  /**
   * The node as complete as its metadata records made it, with its body. Every
   * node has the same fields (those a kind lacks are undefined), so the code
   * reading them sees one shape.
   */
  #finishMeta(
    size = 0,
    target?: Uint8Array,
    major?: number,
    minor?: number,
  ): ArchiveNode {
    const open = this.#node!;
    const entry = open.entry!;
    return {
      path: open.path,
      name: open.name,
      depth: open.depth,
      kind: kindOf(entry.mode)!,
      entry,
      user: open.user,
      group: open.group,
      xattrs: open.xattrs,
      fcaps: open.fcaps,
      other: open.other ? [...open.other] : NO_OTHER,
      size,
      target,
      major,
      minor,
    };
  }

  #filename(record: Uint8Array, start: number) {
    const dir = this.#dirs.at(-1)!;
    const name = this.#string(record, "file name");
    const shown = escapeControls(lenient.decode(name));
    const fail = (detail: string): never =>
      this.#fail(`directory "${dir.node.path}": entry "${shown}" ${detail}`);
    if (name.length === 0) fail("has an empty name");
    if (name.includes(0x2f)) fail("contains a slash, so it would land outside its directory");
    if (shown === "." || shown === "..") fail("is not a name but a reference to a directory");
    if (dir.lastName && compareBytes(name, dir.lastName) <= 0) {
      fail(
        compareBytes(name, dir.lastName) === 0 ? "appears twice" : "is out of order",
      );
    }
    dir.lastName = name;
    dir.childStart = start;
    dir.childHash = goodbyeHash(name);
    this.#node = {
      path: dir.node.depth === 0 ? shown : `${dir.node.path}/${shown}`,
      name,
      depth: dir.node.depth + 1,
      entryOffset: this.#offset,
      xattrs: [],
      xattrBytes: 0,
      rank: 0,
    };
    this.#phase = "entry";
  }

  #goodbye(view: DataView, start: number, events: ArchiveEvent[]) {
    const dir = this.#dirs.pop()!;
    const fail = (detail: string): never =>
      this.#fail(`directory "${dir.node.path}": goodbye table ${detail}`);
    const n = dir.children.length;
    const tail = HEADER_SIZE + n * GOODBYE_ITEM_SIZE;
    if (view.getBigUint64(tail + 16, true) !== CA_FORMAT_GOODBYE_TAIL_MARKER) {
      fail("lacks its tail marker");
    }
    if (view.getBigUint64(tail + 8, true) !== BigInt(view.byteLength)) fail("has a wrong size");
    if (view.getBigUint64(tail, true) !== BigInt(start - dir.entryOffset)) {
      fail("points to the wrong entry");
    }
    const items: GoodbyeChild[] = [];
    for (let i = 0; i < n; i++) {
      const at = HEADER_SIZE + i * GOODBYE_ITEM_SIZE;
      const back = view.getBigUint64(at, true);
      const size = view.getBigUint64(at + 8, true);
      if (back > BigInt(start) || size > back) fail(`item ${i} points outside the directory`);
      const itemStart = start - Number(back);
      items.push({
        hash: view.getBigUint64(at + 16, true),
        start: itemStart,
        end: itemStart + Number(size),
      });
    }
    items.sort(compareGoodbyeChildren);
    const expected = [...dir.children].sort(compareGoodbyeChildren);
    for (let i = 0; i < n; i++) {
      const a = items[i], b = expected[i];
      if (a.hash !== b.hash || a.start !== b.start || a.end !== b.end) {
        fail("does not match the directory's entries");
      }
    }
    events.push({ type: "end", node: dir.node });
    this.#nodeDone();
  }

  #endFile(events: ArchiveEvent[]) {
    const node = this.#file!;
    this.#file = undefined;
    events.push({ type: "end", node });
    this.#nodeDone();
  }

  /** A node's last byte has been read: record it in its directory's table. */
  #nodeDone() {
    this.#node = undefined;
    const parent = this.#dirs.at(-1);
    if (!parent) {
      this.#phase = "done";
      return;
    }
    parent.children.push({ hash: parent.childHash, start: parent.childStart, end: this.#offset });
    this.#phase = "next";
  }

  /** The NUL-terminated string body of a record, without the NUL. */
  #string(record: Uint8Array, what: string): Uint8Array {
    const body = record.subarray(HEADER_SIZE);
    const nul = body.indexOf(0);
    if (nul !== body.length - 1) {
      this.#fail(
        `${what} at byte ${this.#offset - record.length} is not one NUL-terminated string`,
      );
    }
    return body.slice(0, nul);
  }

  #fail(detail: string): never {
    throw new ArchiveFormatError(this.#source, detail);
  }
}
