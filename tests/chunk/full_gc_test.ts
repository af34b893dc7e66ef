import { assertEquals } from "../assert.ts";
import { collectAfterPieces, PIECES_PER_GC } from "../../src/chunk/full_gc.ts";

Deno.test("collectAfterPieces runs gc() once every PIECES_PER_GC pieces, and never without it", () => {
  const scope = globalThis as { gc?: () => void };
  const saved = scope.gc;
  let collections = 0;
  try {
    // Without gc() nothing happens, and the count keeps growing until one is there.
    scope.gc = undefined;
    assertEquals(collectAfterPieces(PIECES_PER_GC), false);
    scope.gc = () => collections++;
    assertEquals(collectAfterPieces(1), true);
    assertEquals(collections, 1);
    // 100 pieces at a time: the next collection after PIECES_PER_GC more.
    let calls = 0;
    let ran = 0;
    while (ran === 0) {
      calls++;
      if (collectAfterPieces(100)) ran++;
    }
    assertEquals(calls, Math.ceil(PIECES_PER_GC / 100));
    assertEquals(collections, 2);
  } finally {
    scope.gc = saved;
  }
});
