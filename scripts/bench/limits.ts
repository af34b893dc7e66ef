/**
 * The compute limits of this machine and runtime, measured on the spot, so a
 * ratio can be read against them: per core, SHA-512/256, casync's chunker, and
 * zstd through the codec's own stream encoder and decoder (not node:zlib's sync
 * functions, which allocate per call and decode text several times slower).
 */
import { createHash } from "node:crypto";
import { chunkerParams, nextCut } from "../../src/chunk/chunker.ts";
import { ZstdDecoder, ZstdEncoder } from "../../src/chunk/zstd_stream.ts";
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
  const params = chunkerParams();
  const chunking = rate(data.length, () => {
    for (let at = 0; at < data.length;) at += nextCut(data, at, data.length, params, true);
  });
  // Compressible text, as chunks of a tar of system files are.
  const text = data.subarray(0, 16 << 20).map((byte) => 97 + (byte % 16));
  const encoder = new ZstdEncoder(3);
  const frames: Uint8Array[] = [];
  const encoding = rate(text.length, () => {
    frames.length = 0;
    for (let at = 0; at < text.length; at += piece) {
      frames.push(encoder.encode(text.subarray(at, at + piece)));
    }
  });
  const decoder = new ZstdDecoder();
  const decoding = rate(text.length, () => {
    for (const frame of frames) decoder.decode(frame, piece);
  });
  return `limits per core: SHA-512/256 ${sha.toFixed(0)} MB/s, chunking ${
    chunking.toFixed(0)
  } MB/s, ` +
    `zstd on text: encoding (level 3) ${encoding.toFixed(0)} MB/s, decoding ${
      decoding.toFixed(0)
    } MB/s`;
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
