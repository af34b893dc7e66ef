/**
 * The compute limits of this machine and runtime, measured on the spot, so a
 * ratio can be read against them: SHA-512/256 and zstd decoding per core.
 */
import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { xorshiftBytes } from "../pseudo_random.ts";

export function measureLimits(): string {
  const piece = 64 << 10;
  const data = xorshiftBytes(64 << 20, 0x5eed);
  const rate = (bytes: number, work: () => void) => {
    work(); // warm up
    const started = performance.now();
    work();
    return bytes / 1e6 / ((performance.now() - started) / 1000);
  };
  const sha = rate(data.length, () => {
    for (let at = 0; at < data.length; at += piece) {
      createHash("sha512-256").update(data.subarray(at, at + piece)).digest();
    }
  });
  // Compressible text, as chunks of a tar of system files are.
  const text = data.subarray(0, 16 << 20).map((byte) => 97 + (byte % 16));
  const frames: Uint8Array[] = [];
  for (let at = 0; at < text.length; at += piece) {
    frames.push(zlib.zstdCompressSync(text.subarray(at, at + piece)));
  }
  const zstd = rate(text.length, () => {
    for (const frame of frames) zlib.zstdDecompressSync(frame);
  });
  return `limits per core: SHA-512/256 ${sha.toFixed(0)} MB/s, ` +
    `zstd decoding (zstdDecompressSync) ${zstd.toFixed(0)} MB/s`;
}
