/**
 * casync index files (`.caibx` for blobs, `.caidx` for catar archives): a header,
 * a table of 40-byte items (end offset + chunk ID) and a tail that closes the table.
 * Pure codec: bytes in, bytes out.
 */
import { IndexFormatError } from "../errors.ts";
import { CHUNK_ID_SIZE, type ChunkId, chunkIdToBytes } from "./chunk_id.ts";
import {
  EXCLUDE_FILE,
  EXCLUDE_NODUMP,
  EXCLUDE_SUBMOUNTS,
  featureFlagsProblem,
  SHA512_256,
} from "./feature_flags.ts";

export const INDEX_MAGIC = 0x96824d9c7b129ff9n;

/**
 * The largest chunk size an index header may give: 1 GiB. casync refuses past
 * 128 MiB, but Go desync makes indexes with any -m; each chunk is held whole in memory.
 */
export const INDEX_CHUNK_SIZE_LIMIT = 1 << 30;
export const TABLE_MAGIC = 0xe75b9e112f17417dn;
export const TABLE_TAIL_MARKER = 0x4b4f050e5549ecd1n;
export const TABLE_HEADER_SIZE_FIELD = 0xffffffffffffffffn;

export {
  EXCLUDE_FILE as FLAG_EXCLUDE_FILE,
  EXCLUDE_NODUMP as FLAG_EXCLUDE_NODUMP,
  EXCLUDE_SUBMOUNTS as FLAG_EXCLUDE_SUBMOUNTS,
  SHA512_256 as FLAG_SHA512_256,
};
/** What `casync make` writes into a `.caibx`. */
export const CASYNC_BLOB_FLAGS = EXCLUDE_NODUMP | EXCLUDE_FILE | SHA512_256;

/**
 * The largest index read: 512 MiB, 13 million chunks, a blob of 800 GiB at
 * casync's 64 KiB average. Anything larger is refused before it is read whole.
 */
export const MAX_INDEX_SIZE = 512 << 20;

const HEADER_SIZE = 48;
const TABLE_HEADER_SIZE = 16;
const ITEM_SIZE = 40;
const TAIL_SIZE = 40;
const MIN_INDEX_SIZE = HEADER_SIZE + TABLE_HEADER_SIZE + TAIL_SIZE;
/**
 * Table items whose IDs are hex-encoded in one call, each ID then a slice of
 * that text: one native call a chunk took half of decoding, and decoding is
 * done before any work starts.
 */
const HEX_BLOCK_ITEMS = 1024;

export type Digest = "sha512-256" | "sha256";

export interface IndexChunk {
  readonly id: ChunkId;
  /** Offset of the chunk's first byte in the blob. */
  readonly start: number;
  readonly size: number;
}

export interface Index {
  readonly featureFlags: bigint;
  readonly chunkSizeMin: number;
  readonly chunkSizeAvg: number;
  readonly chunkSizeMax: number;
  readonly chunks: readonly IndexChunk[];
}

export function digestOf(index: Pick<Index, "featureFlags">): Digest {
  return (index.featureFlags & SHA512_256) !== 0n ? "sha512-256" : "sha256";
}

/** The blob size the index describes. */
export function indexLength(index: Pick<Index, "chunks">): number {
  const last = index.chunks.at(-1);
  return last ? last.start + last.size : 0;
}

function u64(view: DataView, offset: number): bigint {
  return view.getBigUint64(offset, true);
}

/** The largest high 32-bit half of a safe integer (2^53 - 1). */
const MAX_SAFE_HIGH = 2 ** 21 - 1;

function safeNumber(value: bigint, what: string, file: string, at: number): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new IndexFormatError(file, `${what} ${value} at byte ${at} is too large`);
  }
  return Number(value);
}

/** Decodes and validates an index; `file` names it in errors. */
export function decodeIndex(bytes: Uint8Array, file = "<index>"): Index {
  const fail = (detail: string): never => {
    throw new IndexFormatError(file, detail);
  };
  if (bytes.length < MIN_INDEX_SIZE) {
    fail(`truncated: ${bytes.length} bytes, at least ${MIN_INDEX_SIZE} needed`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (u64(view, 0) !== BigInt(HEADER_SIZE)) fail(`header size ${u64(view, 0)} at byte 0, want 48`);
  if (u64(view, 8) !== INDEX_MAGIC) fail(`bad magic 0x${u64(view, 8).toString(16)} at byte 8`);
  const featureFlags = u64(view, 16);
  const flagsProblem = featureFlagsProblem(featureFlags);
  if (flagsProblem) fail(`feature flags 0x${featureFlags.toString(16)} at byte 16 ${flagsProblem}`);
  const [chunkSizeMin, chunkSizeAvg, chunkSizeMax] = (["min", "avg", "max"] as const).map(
    (name, i) => {
      const at = 24 + 8 * i;
      const size = u64(view, at);
      // Past casync's limit (128 MiB) Go desync still writes and reads indexes; past this
      // one no chunk could be held in memory, so the header is corrupt.
      if (size > BigInt(INDEX_CHUNK_SIZE_LIMIT)) {
        fail(`chunk size ${name} ${size} at byte ${at} exceeds ${INDEX_CHUNK_SIZE_LIMIT}`);
      }
      return Number(size);
    },
  );
  if (!(chunkSizeMin >= 1 && chunkSizeMin <= chunkSizeAvg && chunkSizeAvg <= chunkSizeMax)) {
    fail(
      `chunk sizes min ${chunkSizeMin} / avg ${chunkSizeAvg} / max ${chunkSizeMax} out of order`,
    );
  }
  if (u64(view, 48) !== TABLE_HEADER_SIZE_FIELD || u64(view, 56) !== TABLE_MAGIC) {
    fail("bad table header at byte 48");
  }
  const itemBytes = bytes.length - MIN_INDEX_SIZE;
  if (itemBytes % ITEM_SIZE !== 0) {
    fail(`truncated: ${bytes.length} bytes is not a whole number of table items`);
  }
  const count = itemBytes / ITEM_SIZE;
  const chunks: IndexChunk[] = new Array(count);
  let start = 0;
  const itemsEnd = HEADER_SIZE + TABLE_HEADER_SIZE + count * ITEM_SIZE;
  const words = tableWords(bytes, count);
  let hex = "";
  let hexFrom = 0;
  for (let i = 0; i < count; i++) {
    const at = HEADER_SIZE + TABLE_HEADER_SIZE + i * ITEM_SIZE;
    if (i % HEX_BLOCK_ITEMS === 0) {
      hex = bytes.subarray(at, Math.min(at + HEX_BLOCK_ITEMS * ITEM_SIZE, itemsEnd)).toHex();
      hexFrom = at;
    }
    // Two 32-bit halves, not a BigInt: this loop runs once per chunk before any work starts.
    const high = words[i * ITEM_WORDS + 1];
    if (high > MAX_SAFE_HIGH) safeNumber(u64(view, at), "chunk end offset", file, at);
    const end = high * 2 ** 32 + words[i * ITEM_WORDS];
    if (end <= start) fail(`chunk ${i} at byte ${at}: end offset ${end} not after ${start}`);
    const size = end - start;
    if (size > chunkSizeMax) {
      fail(`chunk ${i} at byte ${at}: size ${size} exceeds the maximum ${chunkSizeMax}`);
    }
    const idAt = 2 * (at + 8 - hexFrom);
    chunks[i] = { id: hex.slice(idAt, idAt + 2 * CHUNK_ID_SIZE) as ChunkId, start, size };
    start = end;
  }
  const tail = bytes.length - TAIL_SIZE;
  const tableSize = TABLE_HEADER_SIZE + count * ITEM_SIZE + TAIL_SIZE;
  if (
    u64(view, tail) !== 0n || u64(view, tail + 8) !== 0n ||
    u64(view, tail + 16) !== BigInt(HEADER_SIZE) || u64(view, tail + 24) !== BigInt(tableSize)
  ) {
    fail(`bad table tail at byte ${tail}`);
  }
  if (u64(view, tail + 32) !== TABLE_TAIL_MARKER) fail(`bad tail marker at byte ${tail + 32}`);
  return { featureFlags, chunkSizeMin, chunkSizeAvg, chunkSizeMax, chunks };
}

const ITEM_WORDS = ITEM_SIZE / 4;
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * The table's items as 32-bit words in this machine's order: the file's bytes
 * themselves where the machine is little-endian and they are aligned (a loop
 * of DataView calls took twice as long, before any work starts), else a copy.
 */
function tableWords(bytes: Uint8Array, count: number): Uint32Array {
  const from = bytes.byteOffset + HEADER_SIZE + TABLE_HEADER_SIZE;
  const length = count * ITEM_WORDS;
  if (LITTLE_ENDIAN && from % 4 === 0) return new Uint32Array(bytes.buffer, from, length);
  const view = new DataView(bytes.buffer, from, length * 4);
  return Uint32Array.from({ length }, (_, i) => view.getUint32(i * 4, true));
}

/** An index's fields but its chunks. */
export type IndexHeader = Omit<Index, "chunks">;

/** Encodes an index exactly as casync lays it out. */
export function encodeIndex(index: Index): Uint8Array {
  return IndexTable.of(index.chunks).encode(index);
}

const ITEMS_AT = HEADER_SIZE + TABLE_HEADER_SIZE;
const ID_WORDS = CHUNK_ID_SIZE / 4;
/** Chunks a growing table has room for at first. */
const GROWING_CAPACITY = 1024;
/**
 * Address space reserved for a growing table (MAX_INDEX_SIZE, the largest
 * index read), so that it grows in place: only the pages written are memory.
 * Grown by copying, the old buffers stayed until a GC and each new one was
 * memory whole: 10 million chunks (381 MiB) peaked at 1 GiB, in place at 420 MiB.
 */
const RESERVED = MAX_INDEX_SIZE;

/** The bytes of an index of `count` chunks. */
function indexSize(count: number): number {
  return ITEMS_AT + count * ITEM_SIZE + TAIL_SIZE;
}

/**
 * An index's table as it is built, kept in the file's own layout: 40 bytes a
 * chunk (end offset, ID) in one buffer that grows, with room for the header and
 * the tail, and no object or string per chunk: tar -i chunks an archive of
 * unknown length, and as objects and hex strings its chunks took some 450 bytes
 * each. A chunk's end is known when it is cut, its ID later, when a worker has hashed it.
 */
export class IndexTable {
  #buffer!: ArrayBuffer;
  /** Views of #buffer; over a resizable one they follow its length. */
  #bytes!: Uint8Array<ArrayBuffer>;
  #view!: DataView;
  /** #buffer as 32-bit words in this machine's order, to hash and compare IDs. */
  #words!: Uint32Array;
  #count = 0;

  /** A table for `capacity` chunks, allocated once; without, one that grows in place. */
  constructor(capacity?: number) {
    this.#use(
      capacity === undefined
        ? new ArrayBuffer(indexSize(GROWING_CAPACITY), { maxByteLength: RESERVED })
        : new ArrayBuffer(indexSize(capacity)),
    );
  }

  /** A table of `chunks`, sized to fit them exactly. */
  static of(chunks: readonly IndexChunk[]): IndexTable {
    const table = new IndexTable(chunks.length);
    for (const chunk of chunks) table.setId(table.push(chunk.start + chunk.size), chunk.id);
    return table;
  }

  get count(): number {
    return this.#count;
  }

  /** Appends a chunk ending at `end` (its ID zero until set); returns its position. */
  push(end: number): number {
    const needed = indexSize(this.#count + 1);
    if (needed > this.#buffer.byteLength) this.#grow(needed);
    const at = ITEMS_AT + this.#count * ITEM_SIZE;
    this.#view.setUint32(at, end % 2 ** 32, true);
    this.#view.setUint32(at + 4, Math.floor(end / 2 ** 32), true);
    return this.#count++;
  }

  /** Sets chunk `i`'s ID: hex, or 32 bytes of `source` from `offset`. */
  setId(i: number, id: ChunkId | Uint8Array, offset = 0) {
    const at = this.#itemAt(i) + 8;
    if (typeof id === "string") chunkIdToBytes(id, this.#bytes, at);
    else this.#bytes.set(id.subarray(offset, offset + CHUNK_ID_SIZE), at);
  }

  /** Chunk `i`'s end offset in the blob. */
  end(i: number): number {
    const at = this.#itemAt(i);
    return this.#view.getUint32(at + 4, true) * 2 ** 32 + this.#view.getUint32(at, true);
  }

  /** Chunk `i` as an object, for the few that want one. */
  chunk(i: number): IndexChunk {
    const start = i === 0 ? 0 : this.end(i - 1);
    const at = this.#itemAt(i) + 8;
    const id = this.#bytes.subarray(at, at + CHUNK_ID_SIZE).toHex() as ChunkId;
    return { id, start, size: this.end(i) - start };
  }

  /** Word `w` (0 to 7) of chunk `i`'s ID, in this machine's byte order. */
  idWord(i: number, w: number): number {
    return this.#words[(this.#itemAt(i) + 8) / 4 + w];
  }

  sameId(i: number, j: number): boolean {
    const a = (this.#itemAt(i) + 8) / 4;
    const b = (this.#itemAt(j) + 8) / 4;
    for (let w = 0; w < ID_WORDS; w++) if (this.#words[a + w] !== this.#words[b + w]) return false;
    return true;
  }

  /**
   * The index file, exactly as casync lays it out, in the table's own buffer
   * (an index of millions of chunks is not copied): valid until the next push.
   * A growing table's is resizable, which Deno's writers, fetch, WebCrypto and
   * node's Buffer take as any other (tar -i writes it to files, HTTP, S3 and SFTP).
   */
  encode(header: IndexHeader): Uint8Array<ArrayBuffer> {
    const tableSize = TABLE_HEADER_SIZE + this.#count * ITEM_SIZE + TAIL_SIZE;
    const view = this.#view;
    const put = (at: number, value: bigint | number) => view.setBigUint64(at, BigInt(value), true);
    put(0, HEADER_SIZE);
    put(8, INDEX_MAGIC);
    put(16, header.featureFlags);
    put(24, header.chunkSizeMin);
    put(32, header.chunkSizeAvg);
    put(40, header.chunkSizeMax);
    put(48, TABLE_HEADER_SIZE_FIELD);
    put(56, TABLE_MAGIC);
    const tail = ITEMS_AT + this.#count * ITEM_SIZE;
    put(tail, 0);
    put(tail + 8, 0);
    put(tail + 16, HEADER_SIZE);
    put(tail + 24, tableSize);
    put(tail + 32, TABLE_TAIL_MARKER);
    return new Uint8Array(this.#buffer, 0, HEADER_SIZE + tableSize);
  }

  #itemAt(i: number): number {
    if (!(i >= 0 && i < this.#count)) {
      throw new RangeError(`no chunk ${i} in a table of ${this.#count}`);
    }
    return ITEMS_AT + i * ITEM_SIZE;
  }

  #grow(needed: number) {
    const buffer = this.#buffer;
    const size = Math.max(needed, 2 * buffer.byteLength);
    if (buffer.resizable && needed <= buffer.maxByteLength) {
      buffer.resize(Math.min(size, buffer.maxByteLength));
      return;
    }
    // Past its reservation (or its capacity), the table moves to a larger one.
    const moved = new ArrayBuffer(size, { maxByteLength: Math.max(RESERVED, 2 * size) });
    new Uint8Array(moved).set(new Uint8Array(buffer, 0, indexSize(this.#count)));
    this.#use(moved);
  }

  #use(buffer: ArrayBuffer) {
    this.#buffer = buffer;
    this.#bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
    this.#words = new Uint32Array(buffer);
  }
}

/** Marks a slot of a ChunkIdSet whose ID has been marked. */
const MARKED = 0x80000000;

/**
 * The distinct chunk IDs of an IndexTable, without a string or object per
 * chunk: an open-addressing hash set of chunk positions (4 bytes a slot, at most
 * half of them used), the IDs read from the table. IDs are digests, so their
 * first word is already a well spread hash.
 */
export class ChunkIdSet {
  readonly #table: IndexTable;
  /** Per slot: the position + 1 of the first chunk with its ID (0: empty), | MARKED. */
  #slots = new Uint32Array(1024);
  #size = 0;

  constructor(table: IndexTable) {
    this.#table = table;
  }

  /** The distinct IDs added. */
  get size(): number {
    return this.#size;
  }

  /** Adds chunk `i`'s ID (set in the table); false if a chunk with that ID was added before. */
  add(i: number): boolean {
    if (i >= MARKED - 1) throw new RangeError(`chunk ${i}: too many chunks for a set`);
    const slot = this.#find(i);
    if (this.#slots[slot] !== 0) return false;
    this.#slots[slot] = i + 1;
    if (++this.#size * 2 > this.#slots.length) this.#grow();
    return true;
  }

  /** Marks chunk `i`'s ID, added before; false if it was marked already. */
  mark(i: number): boolean {
    const slot = this.#find(i);
    const value = this.#slots[slot];
    if (value === 0) throw new RangeError(`chunk ${i}: its ID was not added`);
    if (value & MARKED) return false;
    this.#slots[slot] = value | MARKED;
    return true;
  }

  /** The slot that holds chunk `i`'s ID, or the empty one where it would go. */
  #find(i: number): number {
    const table = this.#table;
    const mask = this.#slots.length - 1;
    for (let slot = table.idWord(i, 0) & mask;; slot = (slot + 1) & mask) {
      const value = this.#slots[slot];
      if (value === 0 || table.sameId((value & ~MARKED) - 1, i)) return slot;
    }
  }

  #grow() {
    const old = this.#slots;
    this.#slots = new Uint32Array(2 * old.length);
    const mask = this.#slots.length - 1;
    for (const value of old) {
      if (value === 0) continue;
      let slot = this.#table.idWord((value & ~MARKED) - 1, 0) & mask;
      while (this.#slots[slot] !== 0) slot = (slot + 1) & mask;
      this.#slots[slot] = value;
    }
  }
}
