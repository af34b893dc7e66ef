import { assert, assertBytesEqual, assertEquals, assertThrows } from "../assert.ts";
import { IndexFormatError } from "../../src/errors.ts";
import { type ChunkId, chunkIdFromBytes, isChunkId } from "../../src/format/chunk_id.ts";
import {
  CASYNC_BLOB_FLAGS,
  ChunkIdSet,
  decodeIndex,
  digestOf,
  encodeIndex,
  type Index,
  indexLength,
  IndexTable,
} from "../../src/format/index.ts";
import { pseudoRandom } from "../helpers.ts";

const ID_A = "aa".repeat(32) as ChunkId;
const ID_B = "0b".repeat(32) as ChunkId;

function le64(value: bigint | number): string {
  return BigInt(value).toString(16).padStart(16, "0").match(/../g)!.reverse().join("");
}

/** The layout of casync's src/caformat.h, written out by hand for two chunks. */
const HAND_MADE_HEX = [
  le64(48), // header size
  le64(0x96824d9c7b129ff9n), // CA_FORMAT_INDEX
  le64(0xb000000000000000n), // feature flags as casync make writes them
  le64(16384),
  le64(65536),
  le64(262144),
  le64(0xffffffffffffffffn), // table header size
  le64(0xe75b9e112f17417dn), // CA_FORMAT_TABLE
  le64(100000), // end of chunk 0
  "aa".repeat(32),
  le64(150000), // end of chunk 1
  "0b".repeat(32),
  le64(0),
  le64(0),
  le64(48), // offset of the table from the index start
  le64(16 + 2 * 40 + 40), // table size
  le64(0x4b4f050e5549ecd1n), // tail marker
].join("");

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!.map((byte) => parseInt(byte, 16)));
}

const SAMPLE: Index = {
  featureFlags: CASYNC_BLOB_FLAGS,
  chunkSizeMin: 16384,
  chunkSizeAvg: 65536,
  chunkSizeMax: 262144,
  chunks: [
    { id: ID_A, start: 0, size: 100000 },
    { id: ID_B, start: 100000, size: 50000 },
  ],
};

Deno.test("encodeIndex matches casync's layout written out by hand", () => {
  assertBytesEqual(encodeIndex(SAMPLE), fromHex(HAND_MADE_HEX));
});

Deno.test("decodeIndex reads the hand-made index", () => {
  const index = decodeIndex(fromHex(HAND_MADE_HEX));
  assertEquals(index, SAMPLE);
  assertEquals(indexLength(index), 150000);
  assertEquals(digestOf(index), "sha512-256");
  assertEquals(digestOf({ featureFlags: 0x1000000000000000n }), "sha256");
});

Deno.test("an empty index has no chunks and length 0", () => {
  const empty = { ...SAMPLE, chunks: [] };
  const bytes = encodeIndex(empty);
  assertEquals(bytes.length, 48 + 16 + 40);
  assertEquals(decodeIndex(bytes), empty);
  assertEquals(indexLength(empty), 0);
});

Deno.test("property: random indexes survive an encode/decode round trip", () => {
  for (let seed = 1; seed <= 50; seed++) {
    const random = pseudoRandom(8 + 32 * 40, seed);
    const count = random[0] % 40;
    const chunks = [];
    let start = 0;
    for (let i = 0; i < count; i++) {
      const size = 1 + ((random[1 + i] << 8 | random[2 + i]) % 262144);
      chunks.push({ id: chunkIdFromBytes(random, 8 + i * 32), start, size });
      start += size;
    }
    // The high nibble: the four index bits casync knows (lower ones are archive features).
    const index: Index = { ...SAMPLE, featureFlags: BigInt(random[3] & 0xf0) << 56n, chunks };
    assertEquals(decodeIndex(encodeIndex(index)), index);
  }
});

function corrupt(mutate: (bytes: Uint8Array, view: DataView) => void): Uint8Array {
  const bytes = fromHex(HAND_MADE_HEX);
  mutate(bytes, new DataView(bytes.buffer));
  return bytes;
}

Deno.test("malformed indexes are rejected with what and where", () => {
  const cases: [string, Uint8Array, string][] = [
    ["truncated", fromHex(HAND_MADE_HEX).subarray(0, 60), "truncated"],
    ["partial item", fromHex(HAND_MADE_HEX).subarray(0, 170), "not a whole number"],
    ["bad magic", corrupt((b) => b[8]++), "bad magic"],
    ["header size", corrupt((_, v) => v.setBigUint64(0, 49n, true)), "header size"],
    ["sizes", corrupt((_, v) => v.setBigUint64(24, 70000n, true)), "out of order"],
    ["table header", corrupt((b) => b[56]++), "table header"],
    ["offsets", corrupt((_, v) => v.setBigUint64(104, 90000n, true)), "not after"],
    ["too big", corrupt((_, v) => v.setBigUint64(40, 90000n, true)), "exceeds the maximum"],
    ["tail", corrupt((_, v) => v.setBigUint64(144 + 24, 1n, true)), "bad table tail"],
    ["marker", corrupt((b) => b[b.length - 1]++), "tail marker"],
    ["unsafe offset", corrupt((_, v) => v.setBigUint64(64, 2n ** 53n, true)), "too large"],
  ];
  for (const [what, bytes, message] of cases) {
    const error = assertThrows(() => decodeIndex(bytes, "x.caibx"), IndexFormatError, message);
    assert(error.message.startsWith("x.caibx: invalid index:"), `${what}: ${error.message}`);
  }
});

Deno.test("end offsets past 4 GiB are read exactly (both 32-bit halves)", () => {
  // 32 chunks of casync's largest size end at 2^32; one more ends past it.
  const max = 128 * 2 ** 20;
  const chunks = Array.from({ length: 32 }, (_, i) => ({ id: ID_A, start: i * max, size: max }));
  chunks.push({ id: ID_B, start: 2 ** 32, size: 100000 });
  const bytes = encodeIndex({ ...SAMPLE, chunkSizeMax: max, chunks });
  const view = new DataView(bytes.buffer);
  assertEquals(view.getBigUint64(48 + 16 + 32 * 40, true), 2n ** 32n + 100000n);
  assertEquals(decodeIndex(bytes).chunks.slice(30).map(({ start, size }) => [start, size]), [
    [30 * max, max],
    [31 * max, max],
    [2 ** 32, 100000],
  ]);
});

/** The hand-made index's header around table items given as hex, with the tail casync writes. */
function handMadeIndex(items: readonly string[]): string {
  return [
    HAND_MADE_HEX.slice(0, 16 * 8), // header and table header
    ...items,
    le64(0),
    le64(0),
    le64(48),
    le64(16 + items.length * 40 + 40),
    le64(0x4b4f050e5549ecd1n),
  ].join("");
}

Deno.test("IDs past the first thousands of chunks are read from their own items", () => {
  // Items 0..2499, each ID 32 bytes of the item number, written out by hand as hex.
  const count = 2500;
  const items = [];
  for (let i = 0; i < count; i++) {
    const idHex = (i & 0xff).toString(16).padStart(2, "0").repeat(16) +
      (i >> 8).toString(16).padStart(2, "0").repeat(16);
    items.push(le64((i + 1) * 100) + idHex);
  }
  const index = decodeIndex(fromHex(handMadeIndex(items)));
  assertEquals(index.chunks.length, count);
  for (const i of [0, 1023, 1024, 1025, 2047, 2048, 2499]) {
    assertEquals(index.chunks[i].id, items[i].slice(16), `chunk ${i}`);
    assertEquals(index.chunks[i].start, i * 100);
  }
});

Deno.test("tables that end exactly at a block of IDs: the last ID is whole", () => {
  for (const count of [1024, 2048]) {
    const items = [];
    for (let i = 0; i < count; i++) {
      // Each ID's bytes written out by hand: its item number, then 0xff to the end.
      items.push(le64((i + 1) * 10) + i.toString(16).padStart(8, "0") + "ff".repeat(28));
    }
    const chunks = decodeIndex(fromHex(handMadeIndex(items))).chunks;
    assertEquals(chunks.length, count);
    for (const i of [count - 1025, count - 1024, count - 2, count - 1].filter((i) => i >= 0)) {
      assertEquals(chunks[i].id, items[i].slice(16), `chunk ${i} of ${count}`);
    }
  }
});

Deno.test("decodeIndex reads an index that starts at an unaligned offset of its buffer", () => {
  const bytes = fromHex(HAND_MADE_HEX);
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  assertEquals(decodeIndex(shifted.subarray(3)), SAMPLE);
});

Deno.test("IndexTable: chunks pushed one by one, IDs set later out of order, encode the hand-made index", () => {
  const table = new IndexTable(1);
  assertEquals([table.push(100000), table.push(150000)], [0, 1]);
  // The second ID as bytes from inside a larger buffer (as the lanes hand them back), the first as hex.
  table.setId(1, fromHex("ff".repeat(32) + "0b".repeat(32)), 32);
  table.setId(0, ID_A);
  assertBytesEqual(table.encode(SAMPLE), fromHex(HAND_MADE_HEX));
  assertEquals([table.chunk(0), table.chunk(1)], SAMPLE.chunks);
  assertEquals(table.end(1), 150000);
  assertThrows(() => table.setId(2, ID_B), RangeError, "no chunk 2");
});

Deno.test("encodeIndex allocates the index once, to its size", () => {
  const bytes = encodeIndex(SAMPLE);
  assertBytesEqual(bytes, fromHex(HAND_MADE_HEX));
  assertEquals(bytes.buffer.byteLength, bytes.length);
});

Deno.test("IndexTable: grows in place or past its capacity and keeps every item, end offsets past 4 GiB", () => {
  const count = 2500;
  const items: string[] = [];
  const ends: number[] = [];
  for (let i = 0; i < count; i++) {
    ends.push((i + 1) * 2 ** 21 + i); // past 2^32 from the 2048th on
    // Each ID's bytes by hand: the item number, then a filler byte of it.
    items.push(
      le64(ends[i]) + i.toString(16).padStart(8, "0") +
        (i & 0xff).toString(16).padStart(2, "0").repeat(28),
    );
  }
  // A growing table, and one of a capacity of 1, which moves into a growing one.
  for (const table of [new IndexTable(), new IndexTable(1)]) {
    for (const end of ends) table.push(end);
    for (let i = count - 1; i >= 0; i--) table.setId(i, fromHex(items[i].slice(16)));
    assertEquals(table.count, count);
    const bytes = table.encode(SAMPLE);
    assertBytesEqual(bytes, fromHex(handMadeIndex(items)));
    assertEquals(table.chunk(2100), {
      id: items[2100].slice(16) as ChunkId,
      start: ends[2099],
      size: ends[2100] - ends[2099],
    });
  }
});

/**
 * IDs to make a set work: `distinct` of them whose first word (the set's hash)
 * differs only in its high byte, so all start at the same slot; in groups of 8
 * that share their first 12 bytes, and pairs that differ only in their last byte.
 */
function crowdedIds(distinct: number): string[] {
  const byte = (value: number) => value.toString(16).padStart(2, "0");
  return Array.from({ length: distinct }, (_, k) => {
    const group = (k >> 3).toString(16).padStart(8, "0").repeat(3);
    return group + "5a".repeat(18) + byte((k & 7) >> 1) + byte(0xc0 | (k & 1));
  });
}

Deno.test("ChunkIdSet: counts the distinct IDs and the first of each, as a Set of their hex does", () => {
  const distinct = 1700;
  const pool = crowdedIds(distinct);
  assertEquals(new Set(pool).size, distinct);
  assert(pool.every(isChunkId));
  const table = new IndexTable();
  const set = new ChunkIdSet(table);
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    // Repeats in an order that is not the pool's: 7 is coprime with 1700.
    const id = pool[(i * 7) % distinct];
    table.setId(table.push((i + 1) * 10), id as ChunkId);
    assertEquals(set.add(i), !seen.has(id), `chunk ${i}`);
    seen.add(id);
    assertEquals(set.size, seen.size);
  }
  assertEquals(set.size, distinct);
  // Marks count each ID once, whichever chunk with it comes first.
  const marked = new Set<string>();
  for (let i = 4999; i >= 0; i -= 3) {
    const id = pool[(i * 7) % distinct];
    assertEquals(set.mark(i), !marked.has(id), `mark ${i}`);
    marked.add(id);
  }
});

Deno.test("ChunkIdSet: marking an ID never added is a bug, not a silent miss", () => {
  const table = new IndexTable();
  const set = new ChunkIdSet(table);
  table.setId(table.push(10), ID_A);
  table.setId(table.push(20), ID_B);
  assert(set.add(0));
  assert(set.mark(0));
  assertThrows(() => set.mark(1), RangeError, "not added");
});
