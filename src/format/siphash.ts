/**
 * SipHash-2-4 (Aumasson and Bernstein), the keyed hash casync puts beside each
 * name in a directory's goodbye table. Computed on 32-bit halves: BigInt
 * arithmetic would cost ~50x more per name, and archives hold many names.
 */

/** The state: v0..v3 as [lo, hi] pairs, packed as v0lo v0hi v1lo v1hi … */
type State = Uint32Array;

function add(s: State, a: number, b: number) {
  const lo = s[a] + s[b];
  s[a + 1] = (s[a + 1] + s[b + 1] + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  s[a] = lo >>> 0;
}

function rotl(s: State, a: number, bits: number) {
  const lo = s[a];
  const hi = s[a + 1];
  if (bits === 32) {
    s[a] = hi;
    s[a + 1] = lo;
  } else if (bits < 32) {
    s[a] = ((lo << bits) | (hi >>> (32 - bits))) >>> 0;
    s[a + 1] = ((hi << bits) | (lo >>> (32 - bits))) >>> 0;
  } else {
    const b = bits - 32;
    s[a] = ((hi << b) | (lo >>> (32 - b))) >>> 0;
    s[a + 1] = ((lo << b) | (hi >>> (32 - b))) >>> 0;
  }
}

function xor(s: State, a: number, b: number) {
  s[a] ^= s[b];
  s[a + 1] ^= s[b + 1];
}

const V0 = 0, V1 = 2, V2 = 4, V3 = 6;

function round(s: State) {
  add(s, V0, V1);
  rotl(s, V1, 13);
  xor(s, V1, V0);
  rotl(s, V0, 32);
  add(s, V2, V3);
  rotl(s, V3, 16);
  xor(s, V3, V2);
  add(s, V0, V3);
  rotl(s, V3, 21);
  xor(s, V3, V0);
  add(s, V2, V1);
  rotl(s, V1, 17);
  xor(s, V1, V2);
  rotl(s, V2, 32);
}

function absorb(s: State, lo: number, hi: number) {
  s[V3] ^= lo;
  s[V3 + 1] ^= hi;
  round(s);
  round(s);
  s[V0] ^= lo;
  s[V0 + 1] ^= hi;
}

function le32(data: Uint8Array, at: number): number {
  return (data[at] | (data[at + 1] << 8) | (data[at + 2] << 16) | (data[at + 3] << 24)) >>> 0;
}

/**
 * The state and the last block, reused by every call (each is synchronous): a
 * goodbye table hashes every name of an archive, and two small typed arrays per
 * name were most of the cost.
 */
const s: State = new Uint32Array(8);
const last = new Uint8Array(8);

/** SipHash-2-4 of `data` under a 16-byte `key`, as an unsigned 64-bit value. */
export function siphash24(data: Uint8Array, key: Uint8Array): bigint {
  if (key.length !== 16) throw new RangeError("SipHash needs a 16-byte key");
  const k0lo = le32(key, 0), k0hi = le32(key, 4), k1lo = le32(key, 8), k1hi = le32(key, 12);
  // "somepseudorandomlygeneratedbytes", the algorithm's initialisation constants.
  s[0] = k0lo ^ 0x70736575;
  s[1] = k0hi ^ 0x736f6d65;
  s[2] = k1lo ^ 0x6e646f6d;
  s[3] = k1hi ^ 0x646f7261;
  s[4] = k0lo ^ 0x6e657261;
  s[5] = k0hi ^ 0x6c796765;
  s[6] = k1lo ^ 0x79746573;
  s[7] = k1hi ^ 0x74656462;
  const whole = data.length - (data.length % 8);
  for (let i = 0; i < whole; i += 8) absorb(s, le32(data, i), le32(data, i + 4));
  // The last block: the remaining bytes, with the length's low byte on top.
  last.fill(0);
  last.set(data.subarray(whole));
  last[7] = data.length & 0xff;
  absorb(s, le32(last, 0), le32(last, 4));
  s[V2] ^= 0xff;
  round(s);
  round(s);
  round(s);
  round(s);
  const lo = (s[V0] ^ s[V1] ^ s[V2] ^ s[V3]) >>> 0;
  const hi = (s[V0 + 1] ^ s[V1 + 1] ^ s[V2 + 1] ^ s[V3 + 1]) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}
