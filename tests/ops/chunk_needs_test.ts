import { assertEquals } from "../assert.ts";
import { ChunkNeeds } from "../../src/ops/chunk_needs.ts";
import { parseChunkId } from "../../src/format/chunk_id.ts";

const id = (digit: string) => parseChunkId(digit.repeat(64));

Deno.test("chunk needs: offsets gather per ID; sizes answer whenever first asked", () => {
  const needs = new ChunkNeeds();
  needs.add(id("a"), 100, 0);
  needs.add(id("b"), 200, 100);
  needs.add(id("a"), 100, 300);
  assertEquals(needs.count, 2);
  assertEquals(needs.get(id("a"))?.offsets, [0, 300]);
  // Taken before the sizes are first asked for, then asked: the taken one is not there.
  assertEquals(needs.take(id("b"))?.offsets, [100]);
  assertEquals(needs.hasSize(200), false);
  assertEquals([...needs.ofSize(100)], [id("a")]);
  // Added and taken after: the sizes follow.
  needs.add(id("c"), 100, 400);
  assertEquals([...needs.ofSize(100)].sort(), [id("a"), id("c")]);
  needs.take(id("a"));
  needs.take(id("c"));
  assertEquals(needs.hasSize(100), false);
  assertEquals(needs.take(id("c")), undefined);
  assertEquals(needs.count, 0);
});
