import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  chunkerParams,
  cutsOf,
  discriminatorFor,
  nextCut,
  WINDOW_SIZE,
} from "../../src/chunk/chunker.ts";
import { UsageError } from "../../src/errors.ts";
import { pseudoRandomFast } from "../helpers.ts";

const cutAll = (data: Uint8Array, params = chunkerParams()) => cutsOf(data, params);

Deno.test("chunks respect min and max; only the last may be shorter than min", () => {
  const params = chunkerParams(2048, 8192, 32768);
  const data = pseudoRandomFast(1 << 20, 5);
  const cuts = cutAll(data, params);
  let start = 0;
  cuts.forEach((end, i) => {
    const size = end - start;
    assert(size <= params.max, `chunk ${i} is ${size} bytes`);
    if (i < cuts.length - 1) assert(size >= params.min, `chunk ${i} is ${size} bytes`);
    start = end;
  });
  assertEquals(cuts.at(-1), data.length);
  const mean = data.length / cuts.length;
  assert(mean > params.min && mean < params.max, `mean chunk size ${mean}`);
});

Deno.test("a run without boundaries (zeros) is cut at exactly max", () => {
  const params = chunkerParams();
  const cuts = cutAll(new Uint8Array(params.max * 3 + 100), params);
  assertEquals(cuts, [params.max, 2 * params.max, 3 * params.max, 3 * params.max + 100]);
});

Deno.test("a cut depends only on the bytes since the previous cut", () => {
  const params = chunkerParams(1024, 4096, 16384);
  const data = pseudoRandomFast(200_000, 8);
  const cuts = cutAll(data, params);
  // Chunking the tail that starts at a cut reproduces the remaining cuts.
  const from = cuts[5];
  const tail = cutAll(data.subarray(from), params).map((cut) => cut + from);
  assertEquals(tail, cuts.slice(6));
});

Deno.test("nextCut asks for more data rather than cutting early", () => {
  const params = chunkerParams(1024, 4096, 16384);
  const data = pseudoRandomFast(100_000, 9);
  const whole = nextCut(data, 0, data.length, params, true);
  for (const end of [10, WINDOW_SIZE, 1024, whole - 1]) {
    assertEquals(nextCut(data, 0, end, params, false), -1, `with ${end} bytes`);
    assertEquals(nextCut(data, 0, end, params, true), end, `final with ${end} bytes`);
  }
  assertEquals(nextCut(data, 0, whole, params, false), whole);
});

Deno.test("fixed-size settings cut every avg bytes", () => {
  const params = chunkerParams(4096, 4096, 4096);
  assertEquals(cutAll(new Uint8Array(10_000).fill(7), params), [4096, 8192, 10_000]);
});

Deno.test("the discriminator stays within min and max", () => {
  assertEquals(discriminatorFor(100, 100, 100), 100);
  const d = discriminatorFor(16384, 65536, 262144);
  assert(d > 16384 && d < 65536, `discriminator ${d}`);
});

Deno.test("chunk size settings are validated with messages", () => {
  assertThrows(() => chunkerParams(0, 10, 20), UsageError, "outside");
  assertThrows(() => chunkerParams(100, 50, 200), UsageError, "min <= avg <= max");
  assertThrows(() => chunkerParams(1, 2, 2 ** 28), UsageError, "outside");
});
