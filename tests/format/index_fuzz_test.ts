/**
 * Property tests (fast-check) for the index parser: arbitrary bytes,
 * truncations and bit flips of real indexes give either an IndexFormatError
 * or an index that is exactly what the bytes say (it encodes back to them).
 * The parser allocates only from the input's length, never from a field.
 */
import fc from "fast-check";
import { assert, assertEquals } from "../assert.ts";
import { IndexFormatError } from "../../src/errors.ts";
import { type ChunkId, chunkIdFromBytes } from "../../src/format/chunk_id.ts";
import { CASYNC_BLOB_FLAGS, decodeIndex, encodeIndex, type Index } from "../../src/format/index.ts";
import { which } from "../helpers.ts";

const RUNS = { numRuns: 400 };

/** Decodes, and checks the outcome is one of the two allowed. */
function decodeOrReject(bytes: Uint8Array): Index | undefined {
  let index: Index;
  try {
    index = decodeIndex(bytes, "fuzz.caibx");
  } catch (error) {
    assert(error instanceof IndexFormatError, `not an IndexFormatError: ${error}`);
    assert(error.message.startsWith("fuzz.caibx: invalid index: "), error.message);
    return undefined;
  }
  // What was accepted is exactly what the bytes say, and obeys the index's rules.
  assertEquals(encodeIndex(index), bytes);
  let start = 0;
  for (const chunk of index.chunks) {
    assertEquals(chunk.start, start);
    assert(chunk.size >= 1 && chunk.size <= index.chunkSizeMax, "chunk size within bounds");
    start += chunk.size;
  }
  assert(index.chunkSizeMin <= index.chunkSizeAvg && index.chunkSizeAvg <= index.chunkSizeMax);
  return index;
}

const chunkSizes = fc.integer({ min: 1, max: 1 << 20 }).chain((max) =>
  fc.record({
    max: fc.constant(max),
    sizes: fc.array(fc.integer({ min: 1, max }), { maxLength: 40 }),
    ids: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
      minLength: 40,
      maxLength: 40,
    }),
  })
);

/** Well-formed indexes, as casync lays them out. */
const indexes = chunkSizes.map(({ max, sizes, ids }): Uint8Array => {
  let start = 0;
  const chunks = sizes.map((size, i) => {
    const chunk = { id: chunkIdFromBytes(ids[i]) as ChunkId, start, size };
    start += size;
    return chunk;
  });
  return encodeIndex({
    featureFlags: CASYNC_BLOB_FLAGS,
    chunkSizeMin: Math.max(1, max >> 2),
    chunkSizeAvg: Math.max(1, max >> 1),
    chunkSizeMax: max,
    chunks,
  });
});

/** A real index from `casync make`, when casync is installed, beside the generated ones. */
async function casyncIndex(): Promise<Uint8Array | undefined> {
  if (!which("casync")) return undefined;
  const dir = await Deno.makeTempDir();
  try {
    const blob = new Uint8Array(300_000).map((_, i) => (i * 7919) >> 5 & 0xff);
    await Deno.writeFile(`${dir}/blob`, blob);
    const made = await new Deno.Command("casync", {
      args: [
        "make",
        `--store=${dir}/store`,
        "--chunk-size=4096:16384:65536",
        `${dir}/x.caibx`,
        `${dir}/blob`,
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    return made.success ? await Deno.readFile(`${dir}/x.caibx`) : undefined;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const realIndexes = await (async () => {
  const real = await casyncIndex();
  return real ? fc.oneof(indexes, fc.constant(real)) : indexes;
})();

Deno.test("fuzz: well-formed indexes decode and encode back to the same bytes", () => {
  fc.assert(fc.property(realIndexes, (bytes) => assert(decodeOrReject(bytes))), RUNS);
});

Deno.test("fuzz: arbitrary bytes are an index or an IndexFormatError", () => {
  // Arbitrary tails behind a valid header reach past the first checks.
  const header = encodeIndex({
    featureFlags: CASYNC_BLOB_FLAGS,
    chunkSizeMin: 1,
    chunkSizeAvg: 2,
    chunkSizeMax: 1 << 30,
    chunks: [],
  }).subarray(0, 64);
  const withHeader = fc.uint8Array({ maxLength: 400 }).map((tail) => {
    const bytes = new Uint8Array(64 + tail.length);
    bytes.set(header);
    bytes.set(tail, 64);
    return bytes;
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), withHeader), (bytes) => {
      decodeOrReject(bytes);
    }),
    RUNS,
  );
});

Deno.test("fuzz: every truncation of an index is an IndexFormatError", () => {
  fc.assert(
    fc.property(realIndexes, fc.nat(), (bytes, cut) => {
      const length = cut % bytes.length;
      assertEquals(decodeOrReject(bytes.subarray(0, length)), undefined, `cut at ${length}`);
    }),
    RUNS,
  );
});

Deno.test("fuzz: bit flips in an index are caught or decode to exactly what they say", () => {
  fc.assert(
    fc.property(
      realIndexes,
      fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
      (bytes, flips) => {
        const flipped = bytes.slice();
        for (const flip of flips) flipped[flip % flipped.length] ^= 1 << (flip % 8);
        decodeOrReject(flipped);
      },
    ),
    RUNS,
  );
});

Deno.test("fuzz: huge values in the size and offset fields are rejected, not allocated for", () => {
  const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  fc.assert(
    fc.property(realIndexes, fc.constantFrom(0, 24, 32, 40, 64, 104, 144), u64, (bytes, at, v) => {
      const changed = bytes.slice();
      if (at + 8 > changed.length) return;
      new DataView(changed.buffer).setBigUint64(at, v, true);
      decodeOrReject(changed);
    }),
    RUNS,
  );
});
