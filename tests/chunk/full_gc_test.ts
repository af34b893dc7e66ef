import { assertEquals } from "../assert.ts";
import {
  collectAfterPieces,
  collectAfterStores,
  PIECES_PER_GC,
  STORES_PER_GC,
} from "../../src/chunk/full_gc.ts";

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

Deno.test("collectAfterStores runs gc() every STORES_PER_GC chunks, no sooner than 20 times its last one took", () => {
  const scope = globalThis as { gc?: () => void };
  const saved = scope.gc;
  let collections = 0;
  try {
    scope.gc = undefined;
    assertEquals(collectAfterStores(STORES_PER_GC), false);
    // A collection that takes 30 ms: the next may come 600 ms after it ends, not before.
    scope.gc = () => {
      collections++;
      const until = performance.now() + 30;
      while (performance.now() < until) { /* a slow collection */ }
    };
    // It ends 30 ms or more after `before` and at `after` at the latest, however
    // long a loaded machine keeps this thread waiting in between.
    const before = performance.now();
    assertEquals(collectAfterStores(1), true);
    const after = performance.now();
    assertEquals(collectAfterStores(STORES_PER_GC), false);
    assertEquals(collections, 1);
    // Fast collections from here: once the spacing has passed, the count decides again.
    scope.gc = () => collections++;
    while (performance.now() < before + 550) assertEquals(collectAfterStores(1), false);
    while (performance.now() < after + 700) { /* the spacing (20 x 30 ms and a bit) passes */ }
    assertEquals(collectAfterStores(1), true);
    assertEquals(collections, 2);
    // That one took microseconds (a loaded machine may stretch that): 100 ms later the next
    // is due by count alone.
    const fast = performance.now();
    while (performance.now() < fast + 100) { /* waiting out the spacing */ }
    for (let i = 1; i < STORES_PER_GC; i++) assertEquals(collectAfterStores(1), false);
    assertEquals(collectAfterStores(1), true);
    assertEquals(collections, 3);
  } finally {
    scope.gc = saved;
  }
});
