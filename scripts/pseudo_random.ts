/** Deterministic pseudo-random bytes (32-bit xorshift) for demo, benchmark and test data. */
export function xorshiftBytes(size: number, seed = 1): Uint8Array {
  const data = new Uint8Array(size);
  const words = new Uint32Array(data.buffer, 0, size >> 2);
  let x = Math.imul(seed, 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < size; i++) data[i] = i & 0xff;
  return data;
}
