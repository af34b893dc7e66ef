/**
 * The HTTP(S) listener shared by chunk-server and index-server: plain HTTP,
 * TLS, or mutual TLS; bounded headers; timeouts for slow and idle clients;
 * a graceful stop that lets requests in flight finish for a bounded time.
 *
 * Built on node:http rather than Deno.serve: in Deno 2.9 only node:http
 * enforces header and request timeouts (a slowloris client otherwise holds a
 * connection forever), verifies client certificates (mutual TLS), and tells
 * when a response buffer has been written, so buffers can be reused.
 */
import http from "node:http";
import https from "node:https";
import { DesyncError, UsageError } from "../errors.ts";
import { IdleConnections } from "./idle_connections.ts";

export type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

export interface ListenAddress {
  hostname: string;
  port: number;
}

/** PEM texts. With `clientCa`, clients must present a certificate it signed. */
export interface TlsConfig {
  cert: string;
  key: string;
  clientCa?: string;
}

export interface ServerLimits {
  /** Time a client has to send its request headers; also the idle keep-alive time. */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, body included. */
  requestTimeoutMs: number;
  /** Most bytes of request headers. */
  maxHeaderSize: number;
  /** How long a stop waits for requests in flight before closing their connections. */
  drainTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 60_000,
  maxHeaderSize: 16 * 1024,
  drainTimeoutMs: 10_000,
};

/** Parses `-l` values: `:8080`, `127.0.0.1:8080`, `[::1]:8080`, `host:0`. */
export function parseListenAddress(value: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new UsageError(`-l wants [HOST]:PORT (e.g. :8080 or 127.0.0.1:8080), got "${value}"`);
  }
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

export interface RunningServer {
  /** Where it listens, as URLs (port 0 resolved). */
  readonly urls: string[];
  /** Stops accepting, lets requests in flight finish (up to the drain timeout), closes the rest. */
  stop(): Promise<void>;
}

/** A server that holds resources (stores, a log file) it gives up once stopped. */
export interface ClosableServer extends RunningServer {
  /** Stops the server, then releases what it holds. */
  close(): Promise<void>;
}

/**
 * Starts one server per address, all answering with `handler`. `release` runs
 * once: when `close` has stopped the server, or when starting fails.
 */
export async function startHttpServer(
  addresses: readonly ListenAddress[],
  handler: Handler,
  options: {
    tls?: TlsConfig;
    limits?: Partial<ServerLimits>;
    reusePort?: boolean;
    release?: () => void | Promise<void>;
  } = {},
): Promise<ClosableServer> {
  let released: Promise<void> | undefined;
  const release = () => released ??= (async () => await options.release?.())();
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const servers: http.Server[] = [];
  const urls: string[] = [];
  const idle = new IdleConnections(limits.headersTimeoutMs, checkingInterval(limits));
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const counted: Handler = (request, response) => {
    inFlight++;
    const use = idle.begin(request.socket);
    // Still announce the idle timeout (Keep-Alive: timeout=N), as node does when it keeps time.
    (response as { _keepAliveTimeout?: number })._keepAliveTimeout = limits.headersTimeoutMs;
    response.once("close", () => {
      idle.end(use);
      if (--inFlight === 0) drained?.();
    });
    handler(request, response);
  };
  try {
    for (const address of addresses) {
      const server = createServer(counted, limits, options.tls);
      servers.push(server);
      urls.push(await listenOn(server, address, options.reusePort ?? false, Boolean(options.tls)));
    }
  } catch (error) {
    for (const server of servers) server.close();
    idle.stop();
    await release();
    throw error;
  }
  const stop = async () => {
    for (const server of servers) {
      server.close();
      server.closeIdleConnections();
    }
    if (inFlight > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        drained = resolve;
        timer = setTimeout(resolve, limits.drainTimeoutMs);
      });
      clearTimeout(timer);
    }
    for (const server of servers) server.closeAllConnections();
    idle.stop();
  };
  return {
    urls,
    stop,
    async close() {
      await stop();
      await release();
    },
  };
}

function createServer(handler: Handler, limits: ServerLimits, tls?: TlsConfig): http.Server {
  const common = {
    maxHeaderSize: limits.maxHeaderSize,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Idle connections are closed by IdleConnections instead (a timer per response is slow).
    keepAliveTimeout: 0,
    // Node checks the two timeouts above only this often (30 s by default).
    connectionsCheckingInterval: checkingInterval(limits),
  };
  const server = tls
    ? https.createServer({
      ...common,
      cert: tls.cert,
      key: tls.key,
      // A client that stalls in the handshake is not yet an HTTP client: the timeouts above
      // start only after it, so without this one it would hold its connection for 120 s.
      handshakeTimeout: limits.headersTimeoutMs,
      ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    }, handler)
    : http.createServer(common, handler);
  // Node answers 408 on a timeout; these must also be set on the instance for Deno's node:http.
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = 0;
  // A failed TLS handshake concerns only that client. (Other client errors keep node's
  // default handling: 400, 408 or 431, then the connection is closed.)
  server.on("tlsClientError", (_error, socket) => socket.destroy());
  return server;
}

/** How often the timeouts are checked: a quarter of the headers timeout, 50 ms to 1 s. */
function checkingInterval(limits: ServerLimits): number {
  return Math.max(50, Math.min(1000, limits.headersTimeoutMs / 4));
}

function listenOn(
  server: http.Server,
  address: ListenAddress,
  reusePort: boolean,
  secure: boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      reject(
        error instanceof Deno.errors.NotCapable ? error : new DesyncError(
          `cannot listen on ${address.hostname}:${address.port}: ${error.message}`,
          { cause: error },
        ),
      );
    };
    server.once("error", onError);
    server.listen({ port: address.port, host: address.hostname, reusePort }, () => {
      server.off("error", onError);
      const bound = server.address();
      const port = typeof bound === "object" && bound ? bound.port : address.port;
      const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
      resolve(`${secure ? "https" : "http"}://${host}:${port}/`);
    });
  });
}
