/**
 * An index handed to untar or mtree where an archive belongs (without -i) is
 * named as an index; the message was "0x96824d9c7b129ff9 record at byte 0:
 * expected ENTRY".
 */
import { assert, assertThrows } from "../assert.ts";
import { ArchiveFormatError } from "../../src/errors.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { CASYNC_BLOB_FLAGS, encodeIndex } from "../../src/format/index.ts";
import { CatarDecoder } from "../../src/format/catar_decoder.ts";

Deno.test("catar: an index file is refused as an index, not an odd record", () => {
  const index = encodeIndex({
    featureFlags: CASYNC_BLOB_FLAGS,
    chunkSizeMin: 16384,
    chunkSizeAvg: 65536,
    chunkSizeMax: 262144,
    chunks: [{ id: "aa".repeat(32) as ChunkId, start: 0, size: 1000 }],
  });
  for (const piece of [index, index.subarray(0, 16)]) {
    const decoder = new CatarDecoder("tree.caidx");
    const error = assertThrows(() => decoder.push(piece), ArchiveFormatError);
    assert(error.message.startsWith("tree.caidx: invalid archive: "), error.message);
    assert(error.message.includes("a casync index"), error.message);
  }
});
