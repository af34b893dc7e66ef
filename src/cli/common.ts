/** What every command shares: option parsers, the codec pool's life, cancellation. */
import { CodecPool } from "../chunk/codec_pool.ts";
import { UsageError } from "../errors.ts";
import type { Digest, Index } from "../format/index.ts";
import { digestOf } from "../format/index.ts";
import { type ChunkerParams, chunkerParams } from "../chunk/chunker.ts";

export const DEFAULT_CONCURRENCY = 10;

/** Collects a repeatable option (`-s a -s b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new UsageError(`-n/--concurrency must be a whole number from 1 to 1024, got "${value}"`);
  }
  return n;
}

export function parseDigest(value: string): Digest {
  const normal = value.toLowerCase().replace("_", "-");
  if (normal === "sha512-256" || normal === "sha256") return normal;
  throw new UsageError(`--digest must be sha512-256 or sha256, got "${value}"`);
}

export function digestsOf(indexes: readonly Index[]): Digest[] {
  const digests = new Set(indexes.map(digestOf));
  return digests.size ? [...digests] : ["sha512-256"];
}

/** Runs `work` with a codec pool and an AbortSignal that Ctrl-C trips; cleans both up. */
export async function withRuntime<T>(
  work: (runtime: { codec: CodecPool; signal: AbortSignal }) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = () => controller.abort(new UsageError("interrupted"));
  let listening = false;
  try {
    Deno.addSignalListener("SIGINT", onInterrupt);
    listening = true;
  } catch {
    // Signal listeners are not available everywhere (e.g. some embedders); Ctrl-C then just kills.
  }
  const codec = new CodecPool();
  try {
    return await work({ codec, signal: controller.signal });
  } finally {
    codec.close();
    if (listening) Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

export function print(line: string) {
  console.log(line);
}

/** Parses `MIN:AVG:MAX` (or a single AVG, casync-style: min = avg/4, max = avg*4) times `unit`. */
export function parseChunkSizes(value: string, unit: number, flag: string): ChunkerParams {
  const parts = value.split(":").map((part) => Number(part.trim()));
  if (
    !(parts.length === 1 || parts.length === 3) ||
    parts.some((n) => !Number.isFinite(n) || n <= 0 || !Number.isInteger(n * unit))
  ) {
    throw new UsageError(`${flag} wants MIN:AVG:MAX or AVG, got "${value}"`);
  }
  const [min, avg, max] = parts.length === 3
    ? parts.map((n) => n * unit)
    : [Math.max(1, Math.floor(parts[0] * unit / 4)), parts[0] * unit, parts[0] * unit * 4];
  return chunkerParams(min, avg, max);
}

/** The chunk sizes from `-m` (KiB, like desync) or `--chunk-size` (bytes, like casync). */
export function chunkSizesFrom(opts: { m?: string; chunkSize?: string }): ChunkerParams {
  if (opts.m !== undefined && opts.chunkSize !== undefined) {
    throw new UsageError("give -m or --chunk-size, not both");
  }
  if (opts.m !== undefined) return parseChunkSizes(opts.m, 1024, "-m");
  if (opts.chunkSize !== undefined) return parseChunkSizes(opts.chunkSize, 1, "--chunk-size");
  return chunkerParams();
}
