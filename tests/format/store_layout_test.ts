/** casync's store layout: where a chunk's file is, and which names are chunks. */
import { assertEquals } from "../assert.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { chunkFilePath, chunkIdOfKey, chunkKey } from "../../src/format/store_layout.ts";

const ID = `abcd${"0".repeat(60)}` as ChunkId;

Deno.test("store layout: chunk keys and paths, and the names that are chunks", () => {
  assertEquals(chunkKey(ID, false), `abcd/${ID}.cacnk`);
  assertEquals(chunkKey(ID, true), `abcd/${ID}`);
  assertEquals(chunkFilePath("/s", ID), `/s/abcd/${ID}.cacnk`);
  assertEquals(chunkIdOfKey(`abcd/${ID}.cacnk`), ID);
  assertEquals(chunkIdOfKey(`abcd/${ID}`), ID);
  for (
    const stray of [
      `abce/${ID}.cacnk`, // wrong prefix directory
      `x/abcd/${ID}.cacnk`, // nested deeper
      `abcd/${ID}.cacnk.tmp`,
      `abcd/${ID.slice(1)}`,
      "abcd/x.caibx",
    ]
  ) {
    assertEquals(chunkIdOfKey(stray), undefined, stray);
  }
});
