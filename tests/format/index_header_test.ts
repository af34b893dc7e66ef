/**
 * The index header's feature flags and chunk sizes are checked as casync checks
 * them when it opens an index (facts from running /usr/bin/casync on such files:
 * unknown bits "Operation not supported", redundant bits "Invalid argument"), so a
 * corrupt header is refused before anything is allocated or fetched from what it
 * claims. Chunk sizes are read past casync's 128 MiB limit (its "Bad message"), as
 * Go desync makes such indexes, up to 1 GiB.
 */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { IndexFormatError } from "../../src/errors.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { CASYNC_BLOB_FLAGS, decodeIndex, encodeIndex, type Index } from "../../src/format/index.ts";

const MIB = 1 << 20;

const SAMPLE: Index = {
  featureFlags: CASYNC_BLOB_FLAGS,
  chunkSizeMin: 16384,
  chunkSizeAvg: 65536,
  chunkSizeMax: 262144,
  chunks: [{ id: "aa".repeat(32) as ChunkId, start: 0, size: 100000 }],
};

/** The sample encoded with header fields replaced (u64 at byte 16, 24, 32, 40). */
function withHeader(fields: { flags?: bigint; min?: bigint; avg?: bigint; max?: bigint }) {
  const bytes = encodeIndex(SAMPLE);
  const view = new DataView(bytes.buffer);
  if (fields.flags !== undefined) view.setBigUint64(16, fields.flags, true);
  if (fields.min !== undefined) view.setBigUint64(24, fields.min, true);
  if (fields.avg !== undefined) view.setBigUint64(32, fields.avg, true);
  if (fields.max !== undefined) view.setBigUint64(40, fields.max, true);
  return bytes;
}

function rejects(bytes: Uint8Array, message: string) {
  const error = assertThrows(() => decodeIndex(bytes, "x.caibx"), IndexFormatError, message);
  assert(error.message.startsWith("x.caibx: invalid index: "), error.message);
}

Deno.test("feature flags casync does not know are refused", () => {
  rejects(withHeader({ flags: CASYNC_BLOB_FLAGS | 1n << 40n }), "feature flags");
  rejects(withHeader({ flags: 0xffffffffffffffffn }), "feature flags");
  rejects(withHeader({ flags: 0x0100000000000000n }), "feature flags");
});

Deno.test("feature flags that contradict each other (not casync's normal form) are refused", () => {
  rejects(withHeader({ flags: CASYNC_BLOB_FLAGS | 0x3n }), "feature flags"); // 16- and 32-bit uids
  rejects(withHeader({ flags: CASYNC_BLOB_FLAGS | 0x18n }), "feature flags"); // sec and usec time
  rejects(withHeader({ flags: CASYNC_BLOB_FLAGS | 0x180n }), "feature flags"); // read-only and perms
});

Deno.test("feature flags casync and Go desync write are read", () => {
  for (
    const flags of [
      0n, // casync make --digest=sha256 with nothing excluded
      CASYNC_BLOB_FLAGS,
      0xa000000000000000n, // Go desync make
      0xb000000010001f22n, // Go desync tar -i
      0xb0000001ffeffe26n, // casync make of a directory (--with=best)
    ]
  ) {
    assertEquals(decodeIndex(withHeader({ flags })).featureFlags, flags);
  }
});

Deno.test("chunk sizes past 1 GiB are refused, up to it read (past casync's 128 MiB too)", () => {
  rejects(withHeader({ max: 1n << 40n }), "chunk size max");
  rejects(withHeader({ max: BigInt(1024 * MIB + 1) }), "chunk size max");
  rejects(
    withHeader({ min: BigInt(2048 * MIB), avg: BigInt(2048 * MIB), max: BigInt(2048 * MIB) }),
    "chunk size",
  );
  assertEquals(decodeIndex(withHeader({ max: BigInt(128 * MIB) })).chunkSizeMax, 128 * MIB);
  assertEquals(decodeIndex(withHeader({ max: BigInt(256 * MIB) })).chunkSizeMax, 256 * MIB);
  assertEquals(decodeIndex(withHeader({ max: BigInt(1024 * MIB) })).chunkSizeMax, 1024 * MIB);
});
