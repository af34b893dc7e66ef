/**
 * The configuration file, in Go desync's format (`$HOME/.config/desync/config.json`):
 *
 *   { "s3-credentials": { "http://host:port": { "access-key": …, "secret-key": …, … } },
 *     "store-options":  { "<location or glob>": { "timeout": <ns>, "uncompressed": true, … } } }
 *
 * Parsing is strict where Go's is lenient: an unknown key or a value of the
 * wrong type is an error naming the key. Durations are integers of nanoseconds,
 * as Go writes them. Pure: the CLI reads the file and hands the text here.
 */
import { DEFAULT_HTTP_OPTIONS } from "./util/http_client.ts";
import { ConfigError } from "./errors.ts";
import { BadPattern, globMatch } from "./util/path_match.ts";

/** One `store-options` entry; the defaults are Go desync's. */
export interface StoreOptionsEntry {
  /** Go's concurrency; the command's -n always replaces it (as in Go). */
  n?: number;
  clientCert?: string;
  clientKey?: string;
  caCert?: string;
  trustInsecure?: boolean;
  httpAuth?: string;
  httpCookie?: string;
  /** Per request; 0 or absent means the default (1 minute). */
  timeoutNs?: number;
  errorRetry: number;
  errorRetryBaseIntervalNs: number;
  /** Accepted for compatibility; chunks are always verified here. */
  skipVerify?: boolean;
  /** Chunk files are plain bytes named `<id>` instead of zstd frames `<id>.cacnk`. */
  uncompressed: boolean;
}

export interface S3CredentialsEntry {
  accessKey?: string;
  secretKey?: string;
  awsCredentialsFile?: string;
  awsProfile?: string;
  awsRegion?: string;
}

export interface DesyncConfig {
  /** Where it came from, for messages; undefined when no file was read. */
  file?: string;
  s3Credentials: Map<string, S3CredentialsEntry> | null;
  storeOptions: Map<string, StoreOptionsEntry> | null;
}

export const EMPTY_CONFIG: DesyncConfig = { s3Credentials: null, storeOptions: null };

/** Go desync's defaults, which are the HTTP client's. */
const DEFAULT_ERROR_RETRY = DEFAULT_HTTP_OPTIONS.errorRetry;
const DEFAULT_ERROR_RETRY_BASE_NS = DEFAULT_HTTP_OPTIONS.retryBaseMs * 1_000_000;

export function defaultStoreOptions(): StoreOptionsEntry {
  return {
    errorRetry: DEFAULT_ERROR_RETRY,
    errorRetryBaseIntervalNs: DEFAULT_ERROR_RETRY_BASE_NS,
    uncompressed: false,
  };
}

type Kind = "string" | "boolean" | "count" | "duration";

/** JSON key → field, in the order Go writes them. */
const STORE_OPTION_KEYS: [string, keyof StoreOptionsEntry, Kind][] = [
  ["n", "n", "count"],
  ["client-cert", "clientCert", "string"],
  ["client-key", "clientKey", "string"],
  ["ca-cert", "caCert", "string"],
  ["trust-insecure", "trustInsecure", "boolean"],
  ["http-auth", "httpAuth", "string"],
  ["http-cookie", "httpCookie", "string"],
  ["timeout", "timeoutNs", "duration"],
  ["error-retry", "errorRetry", "count"],
  ["error-retry-base-interval", "errorRetryBaseIntervalNs", "duration"],
  ["skip-verify", "skipVerify", "boolean"],
  ["uncompressed", "uncompressed", "boolean"],
];

const S3_KEYS: [string, keyof S3CredentialsEntry][] = [
  ["access-key", "accessKey"],
  ["secret-key", "secretKey"],
  ["aws-credentials-file", "awsCredentialsFile"],
  ["aws-profile", "awsProfile"],
  ["aws-region", "awsRegion"],
];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function checkValue(file: string, path: string, kind: Kind, value: unknown): unknown {
  const bad = (want: string) =>
    new ConfigError(file, `${path}: want ${want}, got ${describe(value)}`);
  switch (kind) {
    case "string":
      if (typeof value !== "string") throw bad("a string");
      return value;
    case "boolean":
      if (typeof value !== "boolean") throw bad("true or false");
      return value;
    case "count":
      if (!Number.isSafeInteger(value) || (value as number) < 0) {
        throw bad("a whole number, 0 or more");
      }
      return value;
    case "duration":
      // Go writes time.Duration as integer nanoseconds; negative would mean "forever".
      if (!Number.isSafeInteger(value) || (value as number) < 0) {
        throw bad("whole nanoseconds, 0 or more (e.g. 60000000000 for 1m)");
      }
      return value;
  }
}

/** The keyed sections: an object of objects, or null. */
function section(
  file: string,
  name: string,
  value: unknown,
): [string, Record<string, unknown>][] | null {
  if (value === null || value === undefined) return null;
  if (!isObject(value)) {
    throw new ConfigError(file, `${name}: want an object, got ${describe(value)}`);
  }
  return Object.entries(value).map(([key, entry]) => {
    if (!isObject(entry)) {
      throw new ConfigError(file, `${name}["${key}"]: want an object, got ${describe(entry)}`);
    }
    return [key, entry];
  });
}

/** Parses a config file's text; every problem is a ConfigError naming the file and the key. */
export function parseConfig(text: string, file: string): DesyncConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, `not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!isObject(json)) throw new ConfigError(file, "want a JSON object at the top");
  for (const key of Object.keys(json)) {
    if (key !== "s3-credentials" && key !== "store-options") {
      throw new ConfigError(
        file,
        `unknown key "${key}" (known: s3-credentials, store-options)`,
      );
    }
  }
  const config: DesyncConfig = { file, s3Credentials: null, storeOptions: null };
  const s3 = section(file, "s3-credentials", json["s3-credentials"]);
  if (s3) {
    config.s3Credentials = new Map();
    for (const [location, entry] of s3) {
      const creds: S3CredentialsEntry = {};
      for (const [key, value] of Object.entries(entry)) {
        const field = S3_KEYS.find(([name]) => name === key);
        const path = `s3-credentials["${location}"].${key}`;
        if (!field) {
          const known = S3_KEYS.map(([name]) => name).join(", ");
          throw new ConfigError(file, `${path}: unknown key (known: ${known})`);
        }
        creds[field[1]] = checkValue(file, path, "string", value) as string;
      }
      config.s3Credentials.set(location, creds);
    }
  }
  const stores = section(file, "store-options", json["store-options"]);
  if (stores) {
    config.storeOptions = new Map();
    for (const [location, entry] of stores) {
      try {
        globMatch(location, "");
      } catch (error) {
        if (!(error instanceof BadPattern)) throw error;
        throw new ConfigError(file, `store-options["${location}"]: bad pattern: ${error.message}`);
      }
      const options = defaultStoreOptions() as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(entry)) {
        const field = STORE_OPTION_KEYS.find(([name]) => name === key);
        const path = `store-options["${location}"].${key}`;
        if (!field) {
          const known = STORE_OPTION_KEYS.map(([name]) => name).join(", ");
          throw new ConfigError(file, `${path}: unknown key (known: ${known})`);
        }
        options[field[1]] = checkValue(file, path, field[2], value);
      }
      config.storeOptions.set(location, options as unknown as StoreOptionsEntry);
    }
  }
  return config;
}

/** Joins `path` to `cwd` and resolves `.` and `..`, like Go's filepath.Abs. */
function absolute(path: string, cwd: string): string {
  const parts: string[] = [];
  for (const part of (path.startsWith("/") ? path : `${cwd}/${path}`).split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/**
 * Whether a `store-options` key selects a location, as Go desync decides it:
 * URLs compare without a trailing `/`; paths compare as absolute paths.
 */
export function locationMatches(pattern: string, location: string, cwd: string): boolean {
  if (/^[a-z][a-z0-9+.-]+:/i.test(location)) {
    return globMatch(pattern.replace(/\/$/, ""), location.replace(/\/$/, ""));
  }
  return globMatch(absolute(pattern, cwd), absolute(location, cwd));
}

/** The store options for a location: the one matching entry, else the defaults. */
export function storeOptionsFor(
  config: DesyncConfig,
  location: string,
  cwd: string,
): StoreOptionsEntry {
  let found: [string, StoreOptionsEntry] | undefined;
  for (const [pattern, options] of config.storeOptions ?? []) {
    if (!locationMatches(pattern, location, cwd)) continue;
    if (found) {
      throw new ConfigError(
        config.file ?? "",
        `store-options: both "${found[0]}" and "${pattern}" match store ${location}`,
      );
    }
    found = [pattern, options];
  }
  return found ? found[1] : defaultStoreOptions();
}

/** The `s3-credentials` entry for an `s3+http(s)://host[:port]/…` URL, keyed `http(s)://host[:port]`. */
export function s3CredentialsFor(
  config: DesyncConfig,
  url: URL,
): S3CredentialsEntry | undefined {
  return config.s3Credentials?.get(`${url.protocol.replace(/^s3\+/, "")}//${url.host}`);
}

/** Go's JSON string escaping (it also escapes <, > and & for HTML safety). */
function goString(value: string): string {
  return JSON.stringify(value)
    .replaceAll("<", "\\u003c")
    .replaceAll(">", "\\u003e")
    .replaceAll("&", "\\u0026")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

/**
 * The configuration as Go desync's `config` command prints it: two-space
 * indents, keys in Go's field order, map keys sorted, empty values left out.
 */
export function formatConfig(config: DesyncConfig): string {
  const map = <T>(
    entries: Map<string, T> | null,
    indent: string,
    body: (value: T, indent: string) => string[],
  ) => {
    if (entries === null) return "null";
    if (entries.size === 0) return "{}";
    const keys = [...entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const inner = `${indent}  `;
    const lines = keys.map((key) => {
      const fields = body(entries.get(key)!, `${inner}  `);
      const value = fields.length ? `{\n${fields.join(",\n")}\n${inner}}` : "{}";
      return `${inner}${goString(key)}: ${value}`;
    });
    return `{\n${lines.join(",\n")}\n${indent}}`;
  };
  const s3 = map(
    config.s3Credentials,
    "  ",
    (creds, indent) =>
      S3_KEYS.filter(([, field]) => creds[field])
        .map(([key, field]) => `${indent}${goString(key)}: ${goString(creds[field]!)}`),
  );
  const stores = map(
    config.storeOptions,
    "  ",
    (options, indent) =>
      STORE_OPTION_KEYS.filter(([key, field]) => key === "uncompressed" || Boolean(options[field]))
        .map(([key, field]) => {
          const value = options[field];
          return `${indent}${goString(key)}: ${
            typeof value === "string" ? goString(value) : String(value)
          }`;
        }),
  );
  return `{\n  "s3-credentials": ${s3},\n  "store-options": ${stores}\n}`;
}
