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

/**
 * casync's client and its remote keep their queue of chunk requests as symlinks
 * in $TMPDIR or /var/tmp, two made and removed per chunk: where making an inode
 * is slow (an ext4 that scans recently freed inodes), the casync columns of the
 * http and ssh rows measure that file system, not casync. Measured in /var/tmp,
 * where a remote casync started by sshd keeps it.
 */
export function measureCasyncQueue(dir = "/var/tmp"): string {
  const probe = Deno.makeTempDirSync({ dir, prefix: "desync-bench-queue-" });
  try {
    const links = 500;
    const started = performance.now();
    for (let i = 0; i < links; i++) Deno.symlinkSync(`chunk-${i}`, `${probe}/${i}`);
    for (let i = 0; i < links; i++) Deno.removeSync(`${probe}/${i}`);
    const micros = (performance.now() - started) * 1000 / links;
    return `casync's request queue in ${dir}: a symlink made and removed in ${
      micros.toFixed(0)
    } µs`;
  } finally {
    Deno.removeSync(probe, { recursive: true });
  }
}
