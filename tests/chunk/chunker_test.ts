import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  BUZHASH_TABLE,
  type ChunkerParams,
  chunkerParams,
  cutsOf,
  discriminatorFor,
  inverseMod32,
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

/**
 * casync's rule computed the slow way: each window's hash from its definition
 * (the byte k places back rotated left by k), tested with a plain `%`.
 */
function referenceCuts(data: Uint8Array, { min, max, discriminator }: ChunkerParams): number[] {
  const windowHash = (end: number) => {
    let h = 0;
    for (let k = 0; k < WINDOW_SIZE; k++) {
      const value = BUZHASH_TABLE[data[end - 1 - k]] >>> 0;
      const r = k % 32;
      h ^= r === 0 ? value : (value << r) | (value >>> (32 - r));
    }
    return h >>> 0;
  };
  const cuts: number[] = [];
  for (let start = 0; start < data.length;) {
    const last = Math.min(start + max, data.length);
    let cut = last;
    for (let end = start + Math.max(min, WINDOW_SIZE); end <= last; end++) {
      if (windowHash(end) % discriminator === discriminator - 1) {
        cut = end;
        break;
      }
    }
    cuts.push(cut);
    start = cut;
  }
  return cuts;
}

Deno.test("cuts match casync's rule computed the slow way, for every kind of discriminator", () => {
  const settings: [number, number, number][] = [
    [256, 1024, 4096], // an odd discriminator
    [64, 64, 4096], // 64: a power of two
    [100, 100, 4096], // 4 * 25: the odd part is the larger
    [96, 96, 4096], // 3 * 32: the power of two is the larger
    [1, 1, 64], // 1: every position is a cut
    [4096, 4096, 4096], // fixed size
    [16, 40, 200], // min below the window
  ];
  let seed = 11;
  for (let i = 0; i < 40; i++) {
    const max = 48 + ((seed = (seed * 1103515245 + 12345) >>> 0) % 6000);
    const min = 1 + (seed >>> 3) % max;
    settings.push([min, min + (seed >>> 7) % (max - min + 1), max]);
  }
  const random = pseudoRandomFast(48 << 10, 21);
  // Few distinct bytes: long stretches where the hash repeats itself.
  const plain = random.map((byte) => byte & 3);
  for (const [min, avg, max] of settings) {
    const params = chunkerParams(min, avg, max);
    for (const data of [random, plain]) {
      assertEquals(cutAll(data, params), referenceCuts(data, params), `${min}:${avg}:${max}`);
    }
  }
});

Deno.test("inverseMod32 inverts every odd number modulo 2^32", () => {
  for (const odd of [1, 3, 5, 49535, 99777, 10001, 0x7fffffff, 0x7ffffffd, 2 ** 27 + 1]) {
    assertEquals(Math.imul(odd, inverseMod32(odd)), 1, `${odd}`);
  }
});

/**
 * 48 bytes whose window hash is `target`: the hash is the XOR of each byte's
 * table value rotated by its distance from the end, so choosing per position
 * between byte 0 and byte i + 1 is a linear system over GF(2), solved here.
 */
function windowWithHash(target: number): Uint8Array {
  const rotl = (v: number, r: number) => (r === 0 ? v : (v << r) | (v >>> (32 - r))) >>> 0;
  const place = (i: number) => (WINDOW_SIZE - 1 - i) % 32;
  let base = 0;
  for (let i = 0; i < WINDOW_SIZE; i++) base ^= rotl(BUZHASH_TABLE[0] >>> 0, place(i));
  // A basis indexed by leading bit: each vector with the positions that make it up.
  const basis: ({ vector: number; positions: bigint } | undefined)[] = new Array(32);
  for (let i = 0; i < WINDOW_SIZE; i++) {
    let vector = rotl((BUZHASH_TABLE[0] ^ BUZHASH_TABLE[i + 1]) >>> 0, place(i));
    let positions = 1n << BigInt(i);
    for (let bit = 31; bit >= 0 && vector !== 0; bit--) {
      if (!((vector >>> bit) & 1)) continue;
      const row = basis[bit];
      if (!row) {
        basis[bit] = { vector, positions };
        break;
      }
      vector = (vector ^ row.vector) >>> 0;
      positions ^= row.positions;
    }
  }
  let rest = (target ^ base) >>> 0;
  let chosen = 0n;
  for (let bit = 31; bit >= 0; bit--) {
    if (!((rest >>> bit) & 1)) continue;
    const row = basis[bit];
    if (!row) throw new Error(`no window hashes to ${target}`);
    rest = (rest ^ row.vector) >>> 0;
    chosen ^= row.positions;
  }
  const window = new Uint8Array(WINDOW_SIZE);
  for (let i = 0; i < WINDOW_SIZE; i++) if ((chosen >> BigInt(i)) & 1n) window[i] = i + 1;
  return window;
}

Deno.test("the screen passes every cut at the edges of 32 bits, for discriminators up to 128 MiB", () => {
  const discriminators = [
    2,
    3,
    96,
    100,
    2 * 10001,
    3 << 14,
    1 << 14,
    5 << 20,
    (1 << 27) - 1,
    99_999_989,
    3 << 25,
    1 << 26,
    1 << 27,
  ];
  for (const d of discriminators) {
    const k = Math.floor(2 ** 32 / d);
    const hashes = [
      2 ** 32 - 1, // u + 1 wraps to 0
      2 ** 31 - 1, // h + 1 is 2^31, past int32
      2 ** 31, // h is negative
      d - 1,
      k * d - 1, // the largest multiple
      Math.ceil(2 ** 31 / d) * d - 1, // the first cut with h negative
      Math.floor(2 ** 31 / d) * d - 1,
      k * d - 2,
      k * d,
    ];
    for (const u of hashes) {
      // The crafted window ends one byte past the first place a cut may be (48, checked
      // with a plain %), so the screen judges it.
      const data = new Uint8Array(WINDOW_SIZE + 2);
      data.set(windowWithHash(u), 1);
      const params: ChunkerParams = { min: 1, avg: d, max: 1 << 27, discriminator: d };
      const label = `d=${d} u=${u}`;
      const expected = referenceCuts(data, params);
      assertEquals(cutAll(data, params), expected, label);
      if (!expected.includes(WINDOW_SIZE)) {
        assertEquals(expected.length === 2, u % d === d - 1, `${label}: cut where the hash says`);
      }
    }
  }
});
