import { assertEquals, assertThrows } from "../assert.ts";
import {
  chunkIdFromBytes,
  chunkIdToBytes,
  isChunkId,
  parseChunkId,
} from "../../src/format/chunk_id.ts";

Deno.test("chunk IDs round-trip between bytes and lowercase hex", () => {
  const bytes = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 3);
  const id = chunkIdFromBytes(bytes);
  assertEquals(id, Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""));
  assertEquals(chunkIdToBytes(id), bytes);
});

Deno.test("parseChunkId rejects anything but 64 lowercase hex characters", () => {
  for (const bad of ["", "ab", "A".repeat(64), "g".repeat(64), "../".repeat(22), "a".repeat(65)]) {
    assertEquals(isChunkId(bad), false);
    assertThrows(() => parseChunkId(bad), RangeError, "not a chunk ID");
  }
  assertEquals(parseChunkId("0f".repeat(32)), "0f".repeat(32));
});
