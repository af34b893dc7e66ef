/** Flags chunk-server and index-server share: listening, TLS, authorization, logging, timeouts. */
import { type Command, Option } from "./args/mod.ts";
import { DesyncError, UsageError } from "../errors.ts";
import type { ListenAddress, ServerLimits, TlsConfig } from "../server/http_server.ts";
import { certificatesProblem, keyPairProblem } from "../util/tls_files.ts";
import { addCacheRepairOption, collect, optionalEnv, parseDuration, readPem } from "./common.ts";

/** Go desync's default address: every interface, port 80. */
const DEFAULT_LISTEN = ":http";

/** Port names Go desync's -l takes besides numbers (Go resolves them as services). */
const PORT_NAMES: Record<string, number> = { http: 80, https: 443 };

export function addServerOptions(command: Command): Command {
  command
    .option(
      "-l, --listen <address>",
      `[HOST]:PORT to listen on (repeatable; PORT may be http or https) (default: ${DEFAULT_LISTEN})`,
      collect,
      [],
    )
    .option("-w, --writable", "accept PUT requests", false)
    // Go desync's spelling of -w.
    .addOption(new Option("--writeable").hideHelp())
    .option("--cert <file>", "PEM certificate: serve HTTPS (with --key)")
    .option("--key <file>", "PEM key of the certificate")
    .option("--mutual-tls", "require a client certificate signed by --client-ca", false)
    .option("--client-ca <file>", "PEM CA certificate(s) client certificates must be signed by")
    .option("--authorization <value>", "required Authorization header (or $DESYNC_HTTP_AUTH)")
    .option("--log <file>", "access log file, - for stdout")
    .option(
      "--client-timeout <duration>",
      // The default lives in DEFAULT_LIMITS (server/http_server.ts, not loaded for help).
      "time a client has to send a request's headers (twice that for its body); also the " +
        "keep-alive time (default: 30s)",
      (v: string) => parseDuration(v, "--client-timeout"),
    );
  // Go desync's servers take -r: chunk-server repairs its cache (-c) with it.
  return addCacheRepairOption(command);
}

/** `HOST:http` and `HOST:https` as Go desync takes them, with the port's number. */
function namedPort(value: string): string {
  const match = /^(.*):([a-z]+)$/.exec(value.trim());
  const port = match ? PORT_NAMES[match[2]] : undefined;
  return port === undefined ? value : `${match![1]}:${port}`;
}

export interface ServerSettings {
  listen: ListenAddress[];
  /** Accepts PUT requests (-w, or Go desync's --writeable). */
  writable: boolean;
  tls?: TlsConfig;
  authorization?: string;
  log?: string;
  limits: Partial<ServerLimits>;
}

/**
 * Listening needs --allow-net for the address, and for a host name also for
 * the addresses it resolves to (node:http looks the name up, then listens on
 * what it found). Asked up front: refused, the server's threads would die of
 * an uncaught error with a stack trace.
 */
async function checkListenPermission({ hostname, port }: ListenAddress) {
  const bracketed = (host: string) => host.includes(":") ? `[${host}]` : host;
  const missing = (await listenHosts(hostname)).map(bracketed).filter((host) =>
    Deno.permissions.querySync({ name: "net", host: `${host}:${port}` }).state !== "granted"
  );
  if (missing.length > 0) {
    const targets = missing.map((host) => port === 0 ? host : `${host}:${port}`).join(",");
    throw new DesyncError(
      `cannot listen on ${
        bracketed(hostname)
      }:${port}: not permitted: needs --allow-net=${targets}`,
    );
  }
}

/** The host as given and, for a name, the addresses it resolves to (when it may be looked up). */
async function listenHosts(hostname: string): Promise<string[]> {
  if (/^[\d.]+$/.test(hostname) || hostname.includes(":")) return [hostname];
  try {
    const { lookup } = await import("node:dns/promises");
    const found = await lookup(hostname, { all: true });
    return [hostname, ...new Set(found.map((entry) => entry.address))];
  } catch {
    // Not permitted to look it up (then the name itself is missing), or no such name (listen says).
    return [hostname];
  }
}

/** Reads the shared server flags; files are read now, so mistakes are usage errors. */
export async function serverSettings(
  opts: Record<string, unknown>,
  parseListen: (value: string) => ListenAddress,
): Promise<ServerSettings> {
  const given = opts.listen as string[];
  const listen = (given.length > 0 ? given : [DEFAULT_LISTEN]).map(namedPort).map(parseListen);
  for (const address of listen) await checkListenPermission(address);
  if ((opts.cert === undefined) !== (opts.key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  if (opts.mutualTls && (opts.cert === undefined || opts.clientCa === undefined)) {
    throw new UsageError("--mutual-tls needs --cert, --key and --client-ca");
  }
  if (opts.clientCa !== undefined && !opts.mutualTls) {
    throw new UsageError("--client-ca is used only with --mutual-tls");
  }
  const tls = opts.cert === undefined ? undefined : {
    cert: await readPem(opts.cert as string, "--cert"),
    key: await readPem(opts.key as string, "--key"),
    clientCa: opts.mutualTls ? await readPem(opts.clientCa as string, "--client-ca") : undefined,
  };
  if (tls) checkTls(tls, opts);
  const timeout = opts.clientTimeout as number | undefined;
  return {
    listen,
    writable: Boolean(opts.writable || opts.writeable),
    tls,
    authorization: (opts.authorization as string | undefined) ?? optionalEnv("DESYNC_HTTP_AUTH"),
    log: opts.log as string | undefined,
    limits: timeout === undefined ? {} : {
      headersTimeoutMs: timeout,
      requestTimeoutMs: timeout * 2,
    },
  };
}

/**
 * Refuses certificate files the server could not use: node:https parses them
 * only when a client connects, so it would listen and then drop every client.
 */
function checkTls(tls: TlsConfig, opts: Record<string, unknown>) {
  const pair = keyPairProblem(tls.cert, tls.key);
  if (pair) throw new UsageError(`--cert ${opts.cert} --key ${opts.key}: ${pair}`);
  const clientCa = tls.clientCa === undefined ? undefined : certificatesProblem(tls.clientCa);
  if (clientCa) throw new UsageError(`--client-ca ${opts.clientCa}: ${clientCa}`);
}

/** The line a server prints on stderr for each address, so scripts can find the port. */
export function announce(what: string, urls: readonly string[]) {
  for (const url of urls) console.error(`${what}: listening on ${url}`);
}
