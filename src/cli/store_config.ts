/**
 * The CLI's half of per-store configuration: finds and reads the config file,
 * reads the S3 and SSH environment variables, and merges the config file's
 * `store-options` for each location with the command line (a flag the user
 * gave wins over the file, as in Go desync).
 */
import type { Command } from "./args/mod.ts";
import { type DesyncConfig, EMPTY_CONFIG, parseConfig, storeOptionsFor } from "../config.ts";
import { ConfigError, UsageError } from "../errors.ts";
import type { HttpOptions } from "../util/http_client.ts";
import type { IndexContext } from "../store/index_store.ts";
import {
  resolveS3Auth,
  S3_ENVIRONMENT_VARIABLES,
  type S3Environment,
} from "../store/s3_credentials.ts";
import type { StoreSettings } from "../store/settings.ts";
import type { SftpOptions } from "../store/sftp_location.ts";
import { describeFsError } from "../util/fs.ts";
import { DEFAULT_CONCURRENCY, optionalEnv } from "./common.ts";
import { MAX_TIMER_MS } from "../util/tasks.ts";

/** Options for the config file and SFTP stores (declared on the root command). */
export function addConfigOptions(program: Command): Command {
  return program
    .option("--config <file>", "config file (default $HOME/.config/desync/config.json)")
    .option(
      "--identity <file>",
      "SSH private key for sftp:// stores (besides the agent and ~/.ssh)",
    )
    .option(
      "--known-hosts <file>",
      "known_hosts file for sftp:// stores (default ~/.ssh/known_hosts)",
    )
    .option(
      "--accept-unknown-host-keys",
      "connect to SFTP hosts that known_hosts does not list (a changed key is still refused)",
      false,
    );
}

/** Where the config file is: --config, else $HOME/.config/desync/config.json (when HOME is readable). */
export function configPath(command: Command): { path?: string; explicit: boolean } {
  const given = command.optsWithGlobals().config as string | undefined;
  if (given !== undefined) return { path: given, explicit: true };
  const home = optionalEnv("HOME");
  return { path: home ? `${home}/.config/desync/config.json` : undefined, explicit: false };
}

const loaded = new Map<string, Promise<DesyncConfig>>();

/** The configuration in effect: the file parsed, or the defaults when there is none. */
export function loadConfig(command: Command): Promise<DesyncConfig> {
  const { path, explicit } = configPath(command);
  if (path === undefined) return Promise.resolve(EMPTY_CONFIG);
  const key = `${explicit}:${path}`;
  let config = loaded.get(key);
  if (!config) {
    config = readConfig(path, explicit);
    loaded.set(key, config);
  }
  return config;
}

async function readConfig(path: string, explicit: boolean): Promise<DesyncConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    // Only a file the user named must exist; the default one is optional.
    if (!explicit && error instanceof Deno.errors.NotFound) return EMPTY_CONFIG;
    if (!explicit && error instanceof Deno.errors.NotCapable) return EMPTY_CONFIG;
    throw new ConfigError(path, `cannot read: ${describeFsError(error)}`, { cause: error });
  }
  return parseConfig(text, path);
}

function currentDir(): string {
  try {
    return Deno.cwd();
  } catch {
    return "/";
  }
}

/** Did the user give this root option (rather than leave its default)? */
function given(command: Command, name: string): boolean {
  const source = command.getOptionValueSourceWithGlobals(name);
  return source === "cli";
}

/** Reads a PEM file named by the config file, naming the key on failure. */
async function configPem(config: DesyncConfig, key: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError(config.file ?? "", `${key} ${path}: ${describeFsError(error)}`, {
      cause: error,
    });
  }
}

/** The settings for one location: the config file's entry, with the flags the user gave on top. */
async function settingsFor(
  command: Command,
  config: DesyncConfig,
  base: HttpOptions,
  location: string,
): Promise<StoreSettings> {
  const entry = storeOptionsFor(config, location, currentDir());
  const http: HttpOptions = { ...base };
  // Go's durations are nanoseconds and may be longer than a timer can wait (see MAX_TIMER_MS).
  const ms = (ns: number) => Math.min(ns / 1e6, MAX_TIMER_MS);
  if (!given(command, "timeout") && entry.timeoutNs) http.timeoutMs = ms(entry.timeoutNs);
  if (!given(command, "errorRetry")) http.errorRetry = entry.errorRetry;
  if (!given(command, "errorRetryBaseInterval")) {
    http.retryBaseMs = ms(entry.errorRetryBaseIntervalNs);
  }
  http.insecure = base.insecure || entry.trustInsecure || false;
  const key = `store-options["${location}"]`;
  if (!given(command, "caCert") && entry.caCert) {
    http.caCerts = [await configPem(config, `${key}.ca-cert`, entry.caCert)];
  }
  if (!given(command, "clientCert") && (entry.clientCert || entry.clientKey)) {
    if (!entry.clientCert || !entry.clientKey) {
      throw new ConfigError(config.file ?? "", `${key}: client-cert and client-key go together`);
    }
    http.clientCert = await configPem(config, `${key}.client-cert`, entry.clientCert);
    http.clientKey = await configPem(config, `${key}.client-key`, entry.clientKey);
  }
  http.authorization ??= entry.httpAuth;
  if (entry.httpCookie) http.cookie = entry.httpCookie;
  return { http, uncompressed: entry.uncompressed };
}

function s3Environment(): S3Environment {
  const env: S3Environment = {};
  for (const name of S3_ENVIRONMENT_VARIABLES) {
    const value = optionalEnv(name);
    if (value) env[name] = value;
  }
  return env;
}

/** The agent's socket, when Deno lets us connect to it (`--allow-net=…,unix:PATH`); no prompt. */
function usableSocket(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    const status = Deno.permissions.querySync({ name: "net", host: `unix:${path}` });
    return status.state === "granted" ? path : undefined;
  } catch {
    return undefined;
  }
}

/** SFTP settings from the flags and the environment (HOME, USER, SSH_AUTH_SOCK). */
export function sftpOptionsOf(command: Command): SftpOptions {
  const opts = command.optsWithGlobals();
  const home = optionalEnv("HOME");
  const ssh = home ? `${home}/.ssh` : undefined;
  return {
    explicitIdentity: opts.identity,
    identityFiles: ssh ? ["id_ed25519", "id_ecdsa", "id_rsa"].map((name) => `${ssh}/${name}`) : [],
    agentSocket: usableSocket(optionalEnv("SSH_AUTH_SOCK")),
    knownHostsFiles: opts.knownHosts !== undefined
      ? [opts.knownHosts]
      : [...(ssh ? [`${ssh}/known_hosts`] : []), "/etc/ssh/ssh_known_hosts"],
    acceptUnknownHostKeys: opts.acceptUnknownHostKeys ?? false,
    defaultUser: optionalEnv("USER") ?? optionalEnv("LOGNAME"),
    concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY,
  };
}

/**
 * What stores and index files need beyond the codec: per-location settings,
 * S3 credentials and SFTP options. `base` is the HTTP settings from the flags.
 */
export async function remoteContext(command: Command, base: HttpOptions): Promise<IndexContext> {
  const config = await loadConfig(command);
  if (command.optsWithGlobals().identity === "") throw new UsageError("--identity needs a file");
  const env = s3Environment();
  return {
    settingsFor: (location) => settingsFor(command, config, base, location),
    s3Auth: (location) => resolveS3Auth(location, env, config),
    sftp: sftpOptionsOf(command),
  };
}
