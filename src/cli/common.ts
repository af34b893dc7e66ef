/** What every command shares: option parsers, the codec pool's life, cancellation. */
import { type Command, Option } from "./args/mod.ts";
import { CodecPool } from "../chunk/codec_pool.ts";
import { takePrewarmedPool } from "./prewarm.ts";
import type { HttpOptions } from "../util/http_client.ts";
import { describeFsError, stdoutError } from "../util/fs.ts";
import { checkLocation, openStoreChain, type StoreContext } from "../store/location.ts";
import type { Store } from "../store/store.ts";
import type { IndexContext } from "../store/index_store.ts";
import { readIndex } from "../ops/read_index.ts";
import { type StoreError, UsageError } from "../errors.ts";
import { REMOTE_OPTIONS } from "./help.ts";
import { trapStopSignals } from "../util/shutdown.ts";
import type { Digest, Index } from "../format/index.ts";
import { digestOf, indexLength } from "../format/index.ts";
import { configureProgress } from "../util/progress.ts";
import { MAX_TIMER_MS } from "../util/tasks.ts";
import { setVerbose, verbose, warnOnce } from "./log.ts";
import {
  CHUNK_SIZE_LIMIT_MAX,
  CHUNK_SIZE_LIMIT_MIN,
  type ChunkerParams,
  chunkerParams,
  WINDOW_SIZE,
} from "../chunk/chunker.ts";
import { remoteContext } from "./store_config.ts";
import type { InvalidSeedPolicy } from "../ops/seeds.ts";

export const DEFAULT_CONCURRENCY = 10;

/** Collects a repeatable option: `-s a -s b`, or `-s a,b` as Go desync splits it. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").filter((part) => part !== "")];
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
 * The pool starts when `work` first reads `codec` (unless prewarmed): a plain
 * catar tar, untar or mtree never needs its workers.
 */
export async function withRuntime<T>(
  work: (runtime: { readonly codec: CodecPool; readonly signal: AbortSignal }) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const release = trapStopSignals((error) => controller.abort(error));
  let codec: CodecPool | undefined = takePrewarmedPool();
  codec?.observe(controller.signal);
  try {
    return await work({
      signal: controller.signal,
      get codec() {
        if (codec === undefined) {
          codec = new CodecPool();
          codec.observe(controller.signal);
        }
        return codec;
      },
    });
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw error;
  } finally {
    // stop, not close: lanes writing into a store finish the chunk at hand first.
    await codec?.stop();
    release();
  }
}

export function print(line: string) {
  try {
    console.log(line);
  } catch (error) {
    throw stdoutError(error);
  }
}

/** The units `-m/--chunk-size` takes; a bare number is KiB, as Go desync's `-m`. */
const SIZE_UNITS: Record<string, number> = {
  "": 1024,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1 << 20,
  mb: 1 << 20,
  mib: 1 << 20,
  g: 1 << 30,
  gb: 1 << 30,
  gib: 1 << 30,
};

/**
 * One `-m` size: KiB when bare (Go desync), or with a unit (`1000B`, `16K`, `1M`,
 * casync style). With a unit, a decimal fraction counts as casync counts it:
 * `1.1K` is 1024 + floor(0.1 * 1024) = 1126 bytes.
 */
function parseSize(part: string, value: string): number {
  const match = /^(\d+)(?:\.(\d{1,9}))?\s*([a-z]*)$/i.exec(part.trim());
  const scale = match ? SIZE_UNITS[match[3].toLowerCase()] : undefined;
  // A bare fraction has no meaning in either tool: Go takes whole KiB, casync bytes.
  if (!match || scale === undefined || (match[2] !== undefined && match[3] === "")) {
    throw new UsageError(
      `-m/--chunk-size wants MIN:AVG:MAX in KiB (16:64:256) or with units (16K:64K:256K, ` +
        `1000B:4000B:16000B, 1.5K), got "${value}"`,
    );
  }
  const fraction = match[2] ?? "";
  return Number(match[1]) * scale +
    Math.floor(Number(fraction || "0") * scale / 10 ** fraction.length);
}

/**
 * Parses `-m/--chunk-size`: `MIN:AVG:MAX` (or a single AVG, casync style: min =
 * avg/4, at least 1, and max = avg*4, at most 128 MiB), each in KiB unless it
 * carries a unit. Accepts and refuses what `casync --chunk-size` does: sizes of
 * 1 byte to 128 MiB with min <= avg <= max. casync cuts nothing before its
 * 48-byte hash window is full, so a maximum under 48 bytes works only for
 * fixed-size chunks (min = avg = max); casync fails on the first chunk
 * otherwise, we refuse it up front.
 */
export function parseChunkSizes(value: string): ChunkerParams {
  const parts = value.split(":");
  if (parts.length !== 1 && parts.length !== 3) {
    throw new UsageError(`-m/--chunk-size wants MIN:AVG:MAX or AVG, got "${value}"`);
  }
  const sizes = parts.map((part) => parseSize(part, value));
  const [min, avg, max] = sizes.length === 3 ? sizes : [
    Math.max(CHUNK_SIZE_LIMIT_MIN, Math.floor(sizes[0] / 4)),
    sizes[0],
    Math.min(CHUNK_SIZE_LIMIT_MAX, sizes[0] * 4),
  ];
  const say = (detail: string) =>
    new UsageError(`-m/--chunk-size ${value} (${min}:${avg}:${max} bytes): ${detail}`);
  if (avg < CHUNK_SIZE_LIMIT_MIN) throw say("the average must be at least 1 byte");
  if (avg > CHUNK_SIZE_LIMIT_MAX) throw say(`the average is over ${CHUNK_SIZE_LIMIT_MAX} bytes`);
  if (min < CHUNK_SIZE_LIMIT_MIN) throw say("the minimum must be at least 1 byte");
  if (max > CHUNK_SIZE_LIMIT_MAX) throw say(`the maximum is over ${CHUNK_SIZE_LIMIT_MAX} bytes`);
  if (min > avg) throw say("the minimum is larger than the average");
  if (avg > max) throw say("the average is larger than the maximum");
  if (max < WINDOW_SIZE && min !== max) {
    throw say(
      `no chunk is cut before the ${WINDOW_SIZE}-byte rolling-hash window is full, so a ` +
        `maximum under ${WINDOW_SIZE} bytes needs fixed-size chunks (min = avg = max)`,
    );
  }
  return chunkerParams(min, avg, max);
}

/** Adds `-m/--chunk-size` (Go desync's option: KiB, with units accepted). */
export function addChunkSizeOption(command: Command): Command {
  return command.addOption(
    new Option(
      "-m, --chunk-size <min:avg:max>",
      "chunk sizes in KiB, or with units (16K, 1000B, 1M)",
    )
      .argParser(parseChunkSizes)
      .default(chunkerParams(), "16:64:256"),
  );
}

/**
 * Parses a duration such as `500ms`, `2s`, `1.5m` or `1h` (a bare number is seconds) to ms,
 * at most MAX_TIMER_MS.
 */
export function parseDuration(value: string, flag = "duration"): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new UsageError(`${flag} wants a duration like 500ms, 2s or 1m, got "${value}"`);
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"]!;
  return Math.min(Number(match[1]) * scale, MAX_TIMER_MS);
}

/** A whole number of bytes (offsets, lengths). */
export function parseByteCount(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isSafeInteger(n) || n < 0) {
      throw new UsageError(`${flag} must be a whole number of bytes, got "${value}"`);
    }
    return n;
  };
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
  const options = [
    new Option("-t, --trust-insecure", "trust any HTTPS certificate (test servers only)")
      .default(false),
    new Option("--ca-cert <file>", "PEM file with extra trusted root certificates"),
    new Option("--client-cert <file>", "PEM client certificate, for mutual TLS"),
    new Option("--client-key <file>", "PEM key of the client certificate"),
    new Option(
      "--http-auth <value>",
      "Authorization header for HTTP stores (or $DESYNC_HTTP_AUTH)",
    ),
    new Option("-e, --error-retry <n>", "retries after a network error, a 5xx or a 408 answer")
      .argParser(parseCount("-e"))
      .default(3),
    new Option(
      "-b, --error-retry-base-interval <duration>",
      "retry k waits k times this (500ms, 2s, 1m; a bare number is seconds)",
    )
      .argParser((v: string) => parseDuration(v, "-b"))
      .default(500, "500ms"),
    new Option(
      "--timeout <duration>",
      "per HTTP request, SSH request and SSH handshake (a bare number is seconds)",
    )
      .argParser((v: string) => parseDuration(v, "--timeout"))
      .default(60_000, "1m"),
  ];
  for (const option of options) {
    REMOTE_OPTIONS.add(option.long!.replace(/^--/, ""));
    program.addOption(option);
  }
  return program;
}

/** Go desync's root options: `--digest` for the commands that hash, `--verbose`. */
export function addGlobalOptions(program: Command): Command {
  const digest = new Option("--digest <name>", "digest for new indexes and chunks")
    .argParser(parseDigest)
    .default("sha512-256", "sha512-256");
  // Listed for help and completions; parseDigest still takes SHA512_256 and the like.
  digest.argChoices = ["sha512-256", "sha256"];
  return program
    .addOption(digest)
    .addOption(
      new Option("--verbose", "say on stderr what is read, opened and done").default(false),
    );
}

/** The digest `--digest` names, or undefined when it was left at its default. */
export function explicitDigest(command: Command): Digest | undefined {
  let root = command;
  while (root.parent) root = root.parent;
  return root.getOptionValueSource("digest") === "default" ? undefined : root.opts().digest;
}

/** `-n/--concurrency`, which every Go desync command with store options takes. */
export function addConcurrencyOption(command: Command, what = "chunks in flight"): Command {
  return command.addOption(
    new Option("-n, --concurrency <n>", what).argParser(parseConcurrency).default(
      DEFAULT_CONCURRENCY,
    ),
  );
}

/**
 * `-r/--cache-repair` (Go desync's, on by default): a chunk that is invalid in
 * the cache is fetched again and replaces it; `--cache-repair=false` makes it an error.
 * Commands without a cache accept it as Go desync does, to no effect.
 */
export function addCacheRepairOption(command: Command): Command {
  return command
    .addOption(
      new Option(
        "-r, --cache-repair",
        "replace chunks that are invalid in the cache (-c) from the stores; " +
          "--cache-repair=false fails instead",
      ).default(true),
    )
    .addOption(new Option("--no-cache-repair").hideHelp());
}

/** Reads a PEM file an option names; a file that cannot be read is a usage error naming it. */
export function readPem(path: string, flag: string): Promise<string>;
export function readPem(path: string | undefined, flag: string): Promise<string | undefined>;
export async function readPem(path: string | undefined, flag: string): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`${flag} ${path}: ${describeFsError(error)}`, { cause: error });
  }
}

/** An environment variable, or undefined when unset or not permitted (no prompt). */
export function optionalEnv(name: string): string | undefined {
  return envReadable(name) ? Deno.env.get(name) : undefined;
}

function envReadable(name: string): boolean {
  return Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
}

/** Whether a variable is set to something (Go desync's test), read only where permitted. */
function envFlag(name: string): boolean {
  return (optionalEnv(name) ?? "") !== "";
}

/**
 * What every command shares before it runs: `--verbose`, and Go desync's
 * progress variables (DESYNC_PROGRESSBAR_ENABLED, DESYNC_ENABLE_PARSABLE_PROGRESS).
 */
export function applyGlobalSettings(command: Command) {
  setVerbose(command.optsWithGlobals().verbose === true);
  configureProgress({
    forced: envFlag("DESYNC_PROGRESSBAR_ENABLED"),
    parsable: envFlag("DESYNC_ENABLE_PARSABLE_PROGRESS"),
  });
}

/** The locations a command was given (stores, cache, index arguments). */
function locationsOf(command: Command): string[] {
  const opts = command.opts();
  return [opts.store, opts.cache, command.args].flat().filter((v) => typeof v === "string");
}

/** HTTP settings from the root command's options. */
export async function httpOptionsOf(command: Command): Promise<HttpOptions> {
  const opts = command.optsWithGlobals();
  if ((opts.clientCert === undefined) !== (opts.clientKey === undefined)) {
    throw new UsageError("--client-cert and --client-key go together");
  }
  const authorization: string | undefined = opts.httpAuth ?? optionalEnv("DESYNC_HTTP_AUTH");
  return {
    timeoutMs: opts.timeout,
    errorRetry: opts.errorRetry,
    retryBaseMs: opts.errorRetryBaseInterval,
    insecure: opts.trustInsecure,
    caCerts: opts.caCert ? [(await readPem(opts.caCert, "--ca-cert"))!] : undefined,
    clientCert: await readPem(opts.clientCert, "--client-cert"),
    clientKey: await readPem(opts.clientKey, "--client-key"),
    authorization,
    // Deno cannot tell whether a variable it may not read is set: say so where it bites.
    authorizationHint: authorization === undefined && !envReadable("DESYNC_HTTP_AUTH")
      ? "DESYNC_HTTP_AUTH is not read without --allow-env=DESYNC_HTTP_AUTH"
      : undefined,
  };
}

/** What loadIndex reads indexes with, worked out (PEM and config files read) once per command. */
const indexSettings = new WeakMap<Command, Promise<{ http: HttpOptions; remote: IndexContext }>>();

/** Reads an index from a file, stdin (`-`), an HTTP(S) URL, S3 or SFTP, with the command's settings. */
export async function loadIndex(location: string, command: Command): Promise<Index> {
  let settings = indexSettings.get(command);
  if (settings === undefined) {
    settings = httpOptionsOf(command).then(async (http) => ({
      http,
      remote: await remoteContext(command, http),
    }));
    indexSettings.set(command, settings);
  }
  const { http, remote } = await settings;
  const index = await readIndex(location, http, remote);
  verbose(
    `index ${location === "-" ? "<stdin>" : location}: ${index.chunks.length} chunks, ` +
      `${indexLength(index)} bytes, ${digestOf(index)}`,
  );
  return index;
}

/**
 * Deno cannot tell whether a variable it may not read is set: where an ssh://
 * store is about to run plain ssh (and may), one line says the SSH variables
 * were not read. Without the permission to run ssh the command fails anyway,
 * naming that flag.
 */
function warnSshVariables() {
  const unread = ["CASYNC_SSH_PATH", "CASYNC_REMOTE_PATH"].filter((name) => !envReadable(name));
  const mayRun = Deno.permissions.querySync({ name: "run", command: "ssh" }).state === "granted";
  if (unread.length === 0 || !mayRun) return;
  warnOnce(
    `${unread.join(" and ")} ${unread.length > 1 ? "are" : "is"} not read without ` +
      `--allow-env=${unread.join(",")}; running ssh and casync by those names`,
  );
}

/** The store context (codec, digests, HTTP and SSH settings) for a command's options. */
export async function storeContext(
  command: Command,
  codec: CodecPool,
  digests: readonly Digest[],
  maxChunkSize?: number,
): Promise<StoreContext> {
  const opts = command.optsWithGlobals();
  if (locationsOf(command).some((location) => /^ssh:\/\//i.test(location))) warnSshVariables();
  const http = await httpOptionsOf(command);
  return {
    codec,
    digests,
    maxChunkSize,
    http,
    ...(await remoteContext(command, http)),
    ssh: {
      // Set but empty counts as unset, as in Go desync and casync (${CASYNC_SSH_PATH:-ssh}).
      sshPath: optionalEnv("CASYNC_SSH_PATH") || "ssh",
      remotePath: optionalEnv("CASYNC_REMOTE_PATH") || "casync",
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

/** `--skip-invalid-seeds` / `--regenerate-invalid-seeds` (Go desync's flags). */
export function invalidSeedPolicy(
  opts: { skipInvalidSeeds?: boolean; regenerateInvalidSeeds?: boolean },
): InvalidSeedPolicy {
  if (opts.skipInvalidSeeds && opts.regenerateInvalidSeeds) {
    throw new UsageError("give --skip-invalid-seeds or --regenerate-invalid-seeds, not both");
  }
  return opts.skipInvalidSeeds ? "skip" : opts.regenerateInvalidSeeds ? "regenerate" : "fail";
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

/** A cache that cannot take a chunk costs only the next fetch of it: the command goes on. */
function warnCacheWrite(error: StoreError) {
  warnOnce(`${error.message}; going on without caching what the cache cannot take`);
}

/**
 * Runs `work` with the codec pool, the Ctrl-C signal and the store chain
 * (`stores` in order, behind `cache`) opened for `indexes`; closes it afterwards.
 */
export async function withStoreChain<T>(
  command: Command,
  indexes: readonly Index[],
  locations: { store: string[]; cache?: string; cacheRepair?: boolean },
  work: (runtime: {
    codec: CodecPool;
    signal: AbortSignal;
    store: Store;
    context: StoreContext;
  }) => Promise<T>,
): Promise<T> {
  return await withRuntime(async ({ codec, signal }) => {
    const context = await storeContext(command, codec, digestsOf(indexes), largestChunk(indexes));
    const store = await openStoreChain(locations.store, locations.cache, context, {
      cacheRepair: locations.cacheRepair,
      onCacheWriteError: warnCacheWrite,
    });
    verbose(`stores: ${store.name}`);
    try {
      return await work({ codec, signal, store, context });
    } finally {
      await store.close();
    }
  });
}
