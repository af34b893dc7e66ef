/** What every command shares: option parsers, the codec pool's life, cancellation. */
import type { Command } from "commander";
import { CodecPool } from "../chunk/codec_pool.ts";
import type { HttpOptions } from "../util/http_client.ts";
import { describeFsError } from "../util/fs.ts";
import { checkLocation, openStoreChain, type StoreContext } from "../store/location.ts";
import type { Store } from "../store/store.ts";
import { readIndex } from "../ops/read_index.ts";
import { UsageError } from "../errors.ts";
import { trapStopSignals } from "../util/shutdown.ts";
import type { Digest, Index } from "../format/index.ts";
import { digestOf } from "../format/index.ts";
import { type ChunkerParams, chunkerParams } from "../chunk/chunker.ts";
import { remoteContext } from "./store_config.ts";

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

/**
 * Runs `work` with a codec pool and an AbortSignal that SIGINT, SIGTERM and
 * SIGHUP trip (see util/shutdown.ts: a second signal exits at once); cleans both
 * up. A stopped command fails with Interrupted, whatever error the abort caused.
 */
export async function withRuntime<T>(
  work: (runtime: { codec: CodecPool; signal: AbortSignal }) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const release = trapStopSignals((error) => controller.abort(error));
  let codec: CodecPool | undefined;
  try {
    codec = new CodecPool(undefined, { signal: controller.signal });
    return await work({ codec, signal: controller.signal });
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw error;
  } finally {
    codec?.close();
    release();
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

/** Parses a duration such as `500ms`, `2s`, `1.5m` or `1h` (a bare number is seconds) to ms. */
export function parseDuration(value: string, flag = "duration"): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new UsageError(`${flag} wants a duration like 500ms, 2s or 1m, got "${value}"`);
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"]!;
  return Number(match[1]) * scale;
}

export function parseCount(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 1000) {
      throw new UsageError(`${flag} must be a whole number from 0 to 1000, got "${value}"`);
    }
    return n;
  };
}

/** Options every command takes for remote stores (declared on the root command). */
export function addRemoteOptions(program: Command): Command {
  return program
    .option("-t, --trust-insecure", "trust any HTTPS certificate (test servers only)", false)
    .option("--ca-cert <file>", "PEM file with extra trusted root certificates")
    .option("--client-cert <file>", "PEM client certificate, for mutual TLS")
    .option("--client-key <file>", "PEM key of the client certificate")
    .option("--http-auth <value>", "Authorization header for HTTP stores (or $DESYNC_HTTP_AUTH)")
    .option("-e, --error-retry <n>", "retries after a network error or 5xx", parseCount("-e"), 3)
    .option(
      "-b, --error-retry-base-interval <duration>",
      "wait before retry k is k times this",
      (v: string) => parseDuration(v, "-b"),
      500,
    )
    .option(
      "--timeout <duration>",
      "per HTTP request and per SSH request (and for the SSH handshake)",
      (v: string) => parseDuration(v, "--timeout"),
      60_000,
    );
}

async function readPem(path: string | undefined, flag: string): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`${flag} ${path}: ${describeFsError(error)}`, { cause: error });
  }
}

/** An environment variable, or undefined when unset or not permitted (no prompt). */
export function optionalEnv(name: string): string | undefined {
  const status = Deno.permissions.querySync({ name: "env", variable: name });
  return status.state === "granted" ? Deno.env.get(name) : undefined;
}

/** HTTP settings from the root command's options. */
export async function httpOptionsOf(command: Command): Promise<HttpOptions> {
  const opts = command.optsWithGlobals();
  if ((opts.clientCert === undefined) !== (opts.clientKey === undefined)) {
    throw new UsageError("--client-cert and --client-key go together");
  }
  return {
    timeoutMs: opts.timeout,
    errorRetry: opts.errorRetry,
    retryBaseMs: opts.errorRetryBaseInterval,
    insecure: opts.trustInsecure,
    caCerts: opts.caCert ? [(await readPem(opts.caCert, "--ca-cert"))!] : undefined,
    clientCert: await readPem(opts.clientCert, "--client-cert"),
    clientKey: await readPem(opts.clientKey, "--client-key"),
    authorization: opts.httpAuth ?? optionalEnv("DESYNC_HTTP_AUTH"),
  };
}

/** Reads an index from a file, stdin (`-`), an HTTP(S) URL, S3 or SFTP, with the command's settings. */
export async function loadIndex(location: string, command: Command): Promise<Index> {
  const http = await httpOptionsOf(command);
  return await readIndex(location, http, await remoteContext(command, http));
}

/** The store context (codec, digests, HTTP and SSH settings) for a command's options. */
export async function storeContext(
  command: Command,
  codec: CodecPool,
  digests: readonly Digest[],
  maxChunkSize?: number,
): Promise<StoreContext> {
  const opts = command.optsWithGlobals();
  const http = await httpOptionsOf(command);
  return {
    codec,
    digests,
    maxChunkSize,
    http,
    ...(await remoteContext(command, http)),
    ssh: {
      sshPath: optionalEnv("CASYNC_SSH_PATH") ?? "ssh",
      remotePath: optionalEnv("CASYNC_REMOTE_PATH") ?? "casync",
      sessions: opts.concurrency ?? DEFAULT_CONCURRENCY,
      timeoutMs: opts.timeout,
    },
  };
}

/** Adds the seed options extract, cat and info share (Go desync's names). */
export function addSeedOptions(command: Command): Command {
  return command
    .option(
      "--seed <index|file>",
      "seed: an index with its data beside it (or INDEX:DATA), or a plain file (repeatable)",
      collect,
      [],
    )
    .option("--seed-dir <dir>", "use every .caibx below DIR with its data as a seed", collect, [])
    .option("--skip-invalid-seeds", "drop a seed whose data does not match its index", false)
    .option(
      "--regenerate-invalid-seeds",
      "re-chunk a seed whose data does not match its index",
      false,
    );
}

/** The largest chunk any of `indexes` lists (what a store may be asked for, at most). */
export function largestChunk(indexes: readonly Index[]): number {
  let largest = 0;
  for (const index of indexes) {
    for (const chunk of index.chunks) largest = Math.max(largest, chunk.size);
  }
  return largest;
}

/** Checks every `-s`/`-c` location a command got, before it does anything (see main.ts). */
export function checkStoreOptions(opts: { store?: string | string[]; cache?: string }): void {
  const stores = opts.store === undefined ? [] : [opts.store].flat();
  for (const location of [...stores, ...(opts.cache === undefined ? [] : [opts.cache])]) {
    checkLocation(location);
  }
}

/** Adds `-s` (repeatable) and, unless `cache` is false, `-c` to a command. */
export function addStoreOptions(command: Command, cache = true): Command {
  command.option("-s, --store <location>", "chunk store (repeatable, tried in order)", collect, []);
  if (cache) {
    command.option(
      "-c, --cache <location>",
      "writable cache store, consulted first and filled on misses",
    );
  }
  return command;
}

/**
 * Runs `work` with the codec pool, the Ctrl-C signal and the store chain
 * (`stores` in order, behind `cache`) opened for `indexes`; closes it afterwards.
 */
export async function withStoreChain<T>(
  command: Command,
  indexes: readonly Index[],
  locations: { store: string[]; cache?: string },
  work: (runtime: {
    codec: CodecPool;
    signal: AbortSignal;
    store: Store;
    context: StoreContext;
  }) => Promise<T>,
): Promise<T> {
  return await withRuntime(async ({ codec, signal }) => {
    const context = await storeContext(command, codec, digestsOf(indexes), largestChunk(indexes));
    const store = await openStoreChain(locations.store, locations.cache, context);
    try {
      return await work({ codec, signal, store, context });
    } finally {
      await store.close();
    }
  });
}
