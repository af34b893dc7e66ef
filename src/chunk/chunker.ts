/**
 * casync's content-defined chunker: a buzhash over a 48-byte window, restarted
 * at every cut. A cut falls where the chunk has reached max(min, 48) bytes and
 * `hash % discriminator == discriminator - 1`, or where it reaches the maximum.
 * Because the hash restarts at each cut, the cuts after any cut depend only on
 * where that cut is: that is what lets parts of a blob be chunked in parallel
 * and stitched together where their cuts meet.
 */
import { UsageError } from "../errors.ts";

export const WINDOW_SIZE = 48;
/** casync's limits on any chunk size setting. */
export const CHUNK_SIZE_LIMIT_MIN = 1;
export const CHUNK_SIZE_LIMIT_MAX = 128 * 1024 * 1024;

export const DEFAULT_MIN = 16 * 1024;
export const DEFAULT_AVG = 64 * 1024;
export const DEFAULT_MAX = 256 * 1024;

/** The fixed table of casync's buzhash (src/cachunker.c), one value per byte. */
// deno-fmt-ignore
export const BUZHASH_TABLE = new Int32Array([
  0x458be752, 0xc10748cc, 0xfbbcdbb8, 0x6ded5b68, 0xb10a82b5, 0x20d75648, 0xdfc5665f, 0xa8428801,
  0x7ebf5191, 0x841135c7, 0x65cc53b3, 0x280a597c, 0x16f60255, 0xc78cbc3e, 0x294415f5, 0xb938d494,
  0xec85c4e6, 0xb7d33edc, 0xe549b544, 0xfdeda5aa, 0x882bf287, 0x3116737c, 0x05569956, 0xe8cc1f68,
  0x0806ac5e, 0x22a14443, 0x15297e10, 0x50d090e7, 0x4ba60f6f, 0xefd9f1a7, 0x5c5c885c, 0x82482f93,
  0x9bfd7c64, 0x0b3e7276, 0xf2688e77, 0x8fad8abc, 0xb0509568, 0xf1ada29f, 0xa53efdfe, 0xcb2b1d00,
  0xf2a9e986, 0x6463432b, 0x95094051, 0x5a223ad2, 0x9be8401b, 0x61e579cb, 0x1a556a14, 0x5840fdc2,
  0x9261ddf6, 0xcde002bb, 0x52432bb0, 0xbf17373e, 0x7b7c222f, 0x2955ed16, 0x9f10ca59, 0xe840c4c9,
  0xccabd806, 0x14543f34, 0x1462417a, 0x0d4a1f9c, 0x087ed925, 0xd7f8f24c, 0x7338c425, 0xcf86c8f5,
  0xb19165cd, 0x9891c393, 0x325384ac, 0x0308459d, 0x86141d7e, 0xc922116a, 0xe2ffa6b6, 0x53f52aed,
  0x2cd86197, 0xf5b9f498, 0xbf319c8f, 0xe0411fae, 0x977eb18c, 0xd8770976, 0x9833466a, 0xc674df7f,
  0x8c297d45, 0x8ca48d26, 0xc49ed8e2, 0x7344f874, 0x556f79c7, 0x6b25eaed, 0xa03e2b42, 0xf68f66a4,
  0x8e8b09a2, 0xf2e0e62a, 0x0d3a9806, 0x9729e493, 0x8c72b0fc, 0x160b94f6, 0x450e4d3d, 0x7a320e85,
  0xbef8f0e1, 0x21d73653, 0x4e3d977a, 0x1e7b3929, 0x1cc6c719, 0xbe478d53, 0x8d752809, 0xe6d8c2c6,
  0x275f0892, 0xc8acc273, 0x4cc21580, 0xecc4a617, 0xf5f7be70, 0xe795248a, 0x375a2fe9, 0x425570b6,
  0x8898dcf8, 0xdc2d97c4, 0x0106114b, 0x364dc22f, 0x1e0cad1f, 0xbe63803c, 0x5f69fac2, 0x4d5afa6f,
  0x1bc0dfb5, 0xfb273589, 0x0ea47f7b, 0x3c1c2b50, 0x21b2a932, 0x6b1223fd, 0x2fe706a8, 0xf9bd6ce2,
  0xa268e64e, 0xe987f486, 0x3eacf563, 0x1ca2018c, 0x65e18228, 0x2207360a, 0x57cf1715, 0x34c37d2b,
  0x1f8f3cde, 0x93b657cf, 0x31a019fd, 0xe69eb729, 0x8bca7b9b, 0x4c9d5bed, 0x277ebeaf, 0xe0d8f8ae,
  0xd150821c, 0x31381871, 0xafc3f1b0, 0x927db328, 0xe95effac, 0x305a47bd, 0x426ba35b, 0x1233af3f,
  0x686a5b83, 0x50e072e5, 0xd9d3bb2a, 0x8befc475, 0x487f0de6, 0xc88dff89, 0xbd664d5e, 0x971b5d18,
  0x63b14847, 0xd7d3c1ce, 0x7f583cf3, 0x72cbcb09, 0xc0d0a81c, 0x7fa3429b, 0xe9158a1b, 0x225ea19a,
  0xd8ca9ea3, 0xc763b282, 0xbb0c6341, 0x020b8293, 0xd4cd299d, 0x58cfa7f8, 0x91b4ee53, 0x37e4d140,
  0x95ec764c, 0x30f76b06, 0x5ee68d24, 0x679c8661, 0xa41979c2, 0xf2b61284, 0x4fac1475, 0x0adb49f9,
  0x19727a23, 0x15a7e374, 0xc43a18d5, 0x3fb1aa73, 0x342fc615, 0x924c0793, 0xbee2d7f0, 0x8a279de9,
  0x4aa2d70c, 0xe24dd37f, 0xbe862c0b, 0x177c22c2, 0x5388e5ee, 0xcd8a7510, 0xf901b4fd, 0xdbc13dbc,
  0x6c0bae5b, 0x64efe8c7, 0x48b02079, 0x80331a49, 0xca3d8ae6, 0xf3546190, 0xfed7108b, 0xc49b941b,
  0x32baf4a9, 0xeb833a4a, 0x88a3f1a5, 0x3a91ce0a, 0x3cc27da1, 0x7112e684, 0x4a3096b1, 0x3794574c,
  0xa3c8b6f3, 0x1d213941, 0x6e0a2e00, 0x233479f1, 0x0f4cd82f, 0x6093edd2, 0x5d7d209e, 0x464fe319,
  0xd4dcac9e, 0x0db845cb, 0xfb5e4bc3, 0xe0256ce1, 0x09fb4ed1, 0x0914be1e, 0xa5bdb2c3, 0xc6eb57bb,
  0x30320350, 0x3f397e91, 0xa67791bc, 0x86bc0e2c, 0xefa0a7e2, 0xe9ff7543, 0xe733612c, 0xd185897b,
  0x329e5388, 0x91dd236b, 0x2ecb0d93, 0xf4d82a3d, 0x35b5c03f, 0xe4e606f0, 0x05b21843, 0x37b45964,
  0x5eff22f4, 0x6027f4cc, 0x77178b3c, 0xae507131, 0x7bf7cabc, 0xf9c18d66, 0x593ade65, 0xd95ddf11,]);

/** Each table value rotated left by the window size (48 mod 32 = 16), for the byte leaving. */
const BUZHASH_LEAVING = BUZHASH_TABLE.map((v) => (v << 16) | (v >>> 16));

export interface ChunkerParams {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
  readonly discriminator: number;
}

/**
 * The discriminator casync derives from the average, kept within [min, max].
 * The formula's divisor turns negative for averages from about 8.9 MiB on; casync
 * (x86-64) converts that negative quotient to a huge size_t, which its clamp turns
 * into the maximum, not the minimum.
 */
export function discriminatorFor(min: number, avg: number, max: number): number {
  const raw = Math.trunc(avg / (-1.42888852e-7 * avg + 1.33237515));
  return raw < 0 ? max : Math.min(max, Math.max(min, raw));
}

/** Validated chunker settings, with casync's rules and messages a user can act on. */
export function chunkerParams(
  min = DEFAULT_MIN,
  avg = DEFAULT_AVG,
  max = DEFAULT_MAX,
): ChunkerParams {
  for (const [name, value] of [["min", min], ["avg", avg], ["max", max]] as const) {
    if (!Number.isInteger(value) || value < CHUNK_SIZE_LIMIT_MIN || value > CHUNK_SIZE_LIMIT_MAX) {
      throw new UsageError(
        `chunk size ${name} ${value} is outside ${CHUNK_SIZE_LIMIT_MIN}..${CHUNK_SIZE_LIMIT_MAX} bytes`,
      );
    }
  }
  if (!(min <= avg && avg <= max)) {
    throw new UsageError(`chunk sizes must satisfy min <= avg <= max, got ${min}:${avg}:${max}`);
  }
  return { min, avg, max, discriminator: discriminatorFor(min, avg, max) };
}

/**
 * The length of the chunk that starts at `data[from]`, looking no further than
 * `end`. Returns -1 when the data ends before a cut and more may follow; with
 * `final` set the rest up to `end` is the last chunk (0 when nothing is left).
 */
export function nextCut(
  data: Uint8Array,
  from: number,
  end: number,
  params: ChunkerParams,
  final: boolean,
): number {
  const available = end - from;
  const { min, avg, max, discriminator } = params;
  const limit = Math.min(available, max);
  if (min === avg && avg === max) {
    // casync's fixed-size mode: every chunk is exactly `avg` long.
    return available >= avg ? avg : final ? available : -1;
  }
  const first = Math.max(min, WINDOW_SIZE);
  if (available < first) return final ? available : -1;
  if (first >= max) return max;

  if (discriminator === 1) return first; // every position is a cut
  const table = BUZHASH_TABLE;
  const leaving = BUZHASH_LEAVING;
  const target = discriminator - 1;
  let h = 0;
  for (let i = from + first - WINDOW_SIZE; i < from + first; i++) {
    h = ((h << 1) | (h >>> 31)) ^ table[data[i]];
  }
  if ((h >>> 0) % discriminator === target) return first;
  // A cut is where the hash u (h as unsigned) has u % d === d - 1, so d divides u + 1.
  // V8 computes `%` on values past 2^31 in floating point, which costs more than the
  // rolling hash itself; so each position first gets a test in 32-bit integers that
  // every cut passes and nearly nothing else does, and only what passes gets the `%`.
  // The test is either that d's odd part divides u + 1 (the product with its inverse
  // mod 2^32 is at most ⌊(2^32 - 1) / odd⌋ exactly for multiples: Granlund and
  // Montgomery, "Division by invariant integers using multiplication", 1994), or, when
  // d is mostly a power of two, that u + 1 ends in as many zero bits as d does.
  // u + 1 wraps to 0 only for u = 2^32 - 1, which passes both and is judged by `%`.
  // Chunking runs about a quarter faster than with a floating-point remainder.
  const twos = discriminator & -discriminator;
  const odd = discriminator / twos;
  const stop = from + limit;
  if (odd > twos) {
    const inverse = inverseMod32(odd);
    // Unsigned comparison of 32-bit integers as signed ones, with the sign bit flipped.
    const bound = Math.floor(0xffffffff / odd) ^ SIGN_BIT;
    for (let i = from + first; i < stop; i++) {
      h = ((h << 1) | (h >>> 31)) ^ (leaving[data[i - WINDOW_SIZE]] ^ table[data[i]]);
      if ((Math.imul(h + 1, inverse) ^ SIGN_BIT) <= bound && (h >>> 0) % discriminator === target) {
        return i + 1 - from;
      }
    }
  } else {
    const lowBits = twos - 1;
    for (let i = from + first; i < stop; i++) {
      h = ((h << 1) | (h >>> 31)) ^ (leaving[data[i - WINDOW_SIZE]] ^ table[data[i]]);
      if (((h + 1) & lowBits) === 0 && (h >>> 0) % discriminator === target) return i + 1 - from;
    }
  }
  if (limit === max) return max;
  return final ? available : -1;
}

const SIGN_BIT = 0x80000000 | 0;

/** The multiplicative inverse of an odd number modulo 2^32 (Newton's iteration, 5 steps from 3 bits). */
export function inverseMod32(odd: number): number {
  let inverse = odd; // correct to 3 bits, as odd * odd = 1 (mod 8)
  for (let step = 0; step < 5; step++) inverse = Math.imul(inverse, 2 - Math.imul(odd, inverse));
  return inverse;
}

/** Every cut (chunk end offset) of an in-memory blob, in order. */
export function cutsOf(data: Uint8Array, params: ChunkerParams): number[] {
  const cuts: number[] = [];
  let pos = 0;
  while (pos < data.length) {
    pos += nextCut(data, pos, data.length, params, true);
    cuts.push(pos);
  }
  return cuts;
}
