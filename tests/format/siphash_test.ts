import { assertEquals } from "../assert.ts";
import { siphash24 } from "../../src/format/siphash.ts";

// The reference vectors of SipHash-2-4 (Aumasson and Bernstein's paper and its
// reference implementation): key 00 01 … 0f, message 00 01 … (n-1), output read
// as a little-endian 64-bit number.
const VECTORS: [number, bigint][] = [
  [0, 0x726fdb47dd0e0e31n],
  [1, 0x74f839c593dc67fdn],
  [63, 0x958a324ceb064572n],
];

Deno.test("siphash24 gives the reference vectors", () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  for (const [length, expected] of VECTORS) {
    const message = Uint8Array.from({ length }, (_, i) => i);
    assertEquals(siphash24(message, key), expected, `length ${length}`);
  }
});

Deno.test("siphash24 reads only the view it is given", () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  const backing = Uint8Array.from({ length: 80 }, (_, i) => (i + 250) & 0xff);
  const view = backing.subarray(6, 6 + 63);
  view.set(Uint8Array.from({ length: 63 }, (_, i) => i));
  assertEquals(siphash24(view, key), 0x958a324ceb064572n);
});
