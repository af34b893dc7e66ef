/**
 * HTTP(S) requests for stores and index files: keep-alive connections, a
 * timeout per request, retries on network errors and 5xx answers (attempt k
 * waits k × the base interval), custom CAs, client certificates, an
 * Authorization header, and (only when asked) trust in any certificate.
 */
import type { Agent } from "node:https";
import { concatBytes } from "./bytes.ts";
import { MAX_TIMER_MS, sleep } from "./tasks.ts";
import {
  type BodyBuffer,
  HttpBodyTooLarge,
  HttpFinalError,
  HttpNetworkError,
} from "./http_errors.ts";
import { GrowingBody, Http1Client, isSuccess, noProxyConfigured } from "./http1.ts";

export { type BodyBuffer, HttpBodyTooLarge, HttpFinalError, HttpNetworkError };
import { describeNotCapable } from "./fs.ts";
import { certificatesProblem, keyPairProblem } from "./tls_files.ts";

export interface HttpOptions {
  /** Per request, in milliseconds. */
  timeoutMs: number;
  /** Extra attempts after a network error, a 5xx or a 408 answer. */
  errorRetry: number;
  /** Attempt k waits k × this many milliseconds. */
  retryBaseMs: number;
  /** PEM root certificates trusted in addition to the system's. */
  caCerts?: string[];
  /** PEM client certificate and key, for mutual TLS. */
  clientCert?: string;
  clientKey?: string;
  /** Accept any server certificate (self-signed test servers). */
  insecure?: boolean;
  /** Value of the Authorization header sent with every request. */
  authorization?: string;
  /** Value of the Cookie header sent with every request (the config's http-cookie). */
  cookie?: string;
  /** Said after a 401 or 403 answer: why no Authorization header went (e.g. a permission). */
  authorizationHint?: string;
}

/** " (hint)" for an answer refusing access, when the options carry a hint; else "". */
export function accessHint(status: number, options: HttpOptions): string {
  return (status === 401 || status === 403) && options.authorizationHint
    ? ` (${options.authorizationHint})`
    : "";
}

export const DEFAULT_HTTP_OPTIONS: HttpOptions = {
  timeoutMs: 60_000,
  errorRetry: 3,
  retryBaseMs: 500,
};

export interface HttpResponse {
  status: number;
  body: Uint8Array;
}

export type HttpMethod = "GET" | "HEAD" | "PUT" | "DELETE";

/** Largest body read when a request names no limit. */
export const DEFAULT_MAX_BODY = 256 << 20;

export class HttpTransport {
  readonly #options: HttpOptions;
  /** The headers every request sends (read, never changed, by the clients). */
  readonly #headers: Record<string, string> = {};
  readonly #client?: Deno.HttpClient;
  /** Plain-http GETs, unless a proxy may be configured (then fetch() does them all). */
  readonly #http1 = noProxyConfigured() ? new Http1Client() : undefined;
  /** For -t only: node:https is loaded then, as it is slow to load and rarely needed. */
  readonly #agent?: Promise<{ agent: Agent; request: typeof import("node:https").request }>;

  constructor(options: HttpOptions = DEFAULT_HTTP_OPTIONS) {
    this.#options = options;
    if (options.authorization) this.#headers.authorization = options.authorization;
    if (options.cookie) this.#headers.cookie = options.cookie;
    checkTlsFiles(options);
    if (options.insecure) {
      this.#agent = import("node:https").then((https) => ({
        agent: new https.Agent({
          keepAlive: true,
          rejectUnauthorized: false,
          // No roots to load: nothing is verified, and loading the system's needs --allow-sys.
          ca: [],
          cert: options.clientCert,
          key: options.clientKey,
        }),
        request: https.request,
      }));
    } else {
      // A client of our own, so close() also closes its keep-alive connections.
      const tls = options.clientCert && options.clientKey
        ? { cert: options.clientCert, key: options.clientKey }
        : {};
      try {
        this.#client = Deno.createHttpClient({ caCerts: options.caCerts, ...tls });
      } catch (error) {
        throw new HttpNetworkError(`TLS settings rejected: ${(error as Error).message}`);
      }
    }
  }

  /**
   * Sends a request, retrying as configured; the last answer is returned
   * whatever its status. A body longer than `maxBytes` is not read past that
   * (HttpBodyTooLarge); a request Deno's permissions refuse is not retried.
   */
  async request(
    method: HttpMethod,
    url: string,
    init: {
      body?: Uint8Array;
      signal?: AbortSignal;
      maxBytes?: number;
      headers?: Record<string, string>;
      /** Read the body into this buffer when it fits (see BodyBuffer). */
      into?: BodyBuffer;
    } = {},
  ): Promise<HttpResponse> {
    const { errorRetry, retryBaseMs } = this.#options;
    const maxBytes = init.maxBytes ?? DEFAULT_MAX_BODY;
    for (let attempt = 0;; attempt++) {
      let outcome: HttpResponse | HttpNetworkError;
      try {
        outcome = await this.#once(
          method,
          url,
          init.body,
          init.signal,
          maxBytes,
          init.headers,
          init.into,
        );
      } catch (error) {
        if (init.signal?.aborted) throw init.signal.reason;
        if (error instanceof HttpFinalError) throw error;
        if (error instanceof Deno.errors.NotCapable) {
          throw new HttpFinalError(describeNotCapable(error), { cause: error });
        }
        outcome = new HttpNetworkError(describeNetworkError(error, url));
      }
      // 408: the server gave up waiting for the request (often on a kept-alive connection that
      // fetch() reused as it closed): asking again is what RFC 9110 allows for it.
      const retryable = outcome instanceof HttpNetworkError || outcome.status >= 500 ||
        outcome.status === 408;
      if (!retryable || attempt >= errorRetry) {
        if (outcome instanceof HttpNetworkError) throw outcome;
        return outcome;
      }
      await sleep((attempt + 1) * retryBaseMs, init.signal);
    }
  }

  close(): void {
    this.#http1?.close();
    this.#client?.close();
    this.#agent?.then(({ agent }) => agent.destroy());
  }

  async #once(
    method: string,
    url: string,
    body: Uint8Array | undefined,
    signal: AbortSignal | undefined,
    maxBytes: number,
    extraHeaders?: Record<string, string>,
    into?: BodyBuffer,
  ) {
    const headers = extraHeaders ? { ...this.#headers, ...extraHeaders } : this.#headers;
    if (this.#http1 && method === "GET" && !body && url.startsWith("http:")) {
      // The HTTP/1.1 client keeps the deadline itself (see Http1Client.get).
      const { timeoutMs } = this.#options;
      const answer = await this.#http1.get(
        new URL(url),
        headers,
        maxBytes,
        signal,
        into,
        timeoutMs,
      );
      if (answer !== "fallback") return answer;
    }
    return await this.#viaFetch(method, url, body, signal, maxBytes, headers, into);
  }

  /** One request through fetch() (or node:https with -t). */
  async #viaFetch(
    method: string,
    url: string,
    body: Uint8Array | undefined,
    signal: AbortSignal | undefined,
    maxBytes: number,
    headers: Record<string, string>,
    into?: BodyBuffer,
  ) {
    // One timer per request, cleared when it ends: AbortSignal.timeout's timers lived on for the
    // whole timeout and AbortSignal.any's signals are costly to collect.
    const deadline = new AbortController();
    let timedOut = false;
    // A longer wait would fire after 1 ms, ending the request at once.
    const wait = Math.min(this.#options.timeoutMs, MAX_TIMER_MS);
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort(new DOMException("the request timed out", "TimeoutError"));
    }, wait);
    const forward = () => deadline.abort(signal!.reason);
    if (signal?.aborted) forward();
    else signal?.addEventListener("abort", forward, { once: true });
    const combined = deadline.signal;
    try {
      if (this.#agent && url.startsWith("https:")) {
        const agent = await this.#agent;
        return await nodeRequest(agent, method, url, headers, body, combined, maxBytes);
      }
      const response = await fetch(
        url,
        {
          method,
          headers,
          body: body as BodyInit | undefined,
          signal: combined,
          client: this.#client,
        } as RequestInit & { client?: Deno.HttpClient },
      );
      if (method === "HEAD") {
        await response.body?.cancel();
        return { status: response.status, body: new Uint8Array() };
      }
      try {
        const declared = declaredLength(response);
        if (declared > maxBytes) throw new HttpBodyTooLarge(maxBytes);
        if (into && response.body && into.buffer.byteLength > maxBytes) {
          return { status: response.status, body: await readInto(response.body, into, maxBytes) };
        }
        return { status: response.status, body: await readBody(response, declared, maxBytes) };
      } catch (error) {
        await response.body?.cancel().catch(() => {});
        // The bound is on what a success holds: an error page past it is still its status.
        if (!(error instanceof HttpBodyTooLarge) || isSuccess(response.status)) throw error;
        return { status: response.status, body: new Uint8Array() };
      }
    } catch (error) {
      if (timedOut && !signal?.aborted) {
        throw new HttpNetworkError(`timed out after ${this.#options.timeoutMs} ms`);
      }
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", forward);
    }
  }
}

/**
 * Reads a response body as a stream, stopping past `maxBytes`, so that a
 * server cannot make us hold more than that (a declared length too large is
 * refused before anything is read).
 */
async function readInto(
  body: ReadableStream<Uint8Array>,
  into: BodyBuffer,
  maxBytes: number,
): Promise<Uint8Array> {
  // A read that failed midway may have kept the memory: start over with a fresh buffer.
  if (into.buffer.detached) into.buffer = new ArrayBuffer(maxBytes + 1);
  const reader = body.getReader({ mode: "byob" });
  let length = 0;
  try {
    for (;;) {
      const free = new Uint8Array(into.buffer, length, into.buffer.byteLength - length);
      const { value, done } = await reader.read(free);
      if (value) into.buffer = value.buffer as ArrayBuffer;
      if (done) break;
      length += value.length;
      if (length > maxBytes) throw new HttpBodyTooLarge(maxBytes);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
  return new Uint8Array(into.buffer, 0, length);
}

/** The body's length as declared, NaN when unknown. */
function declaredLength(response: Response): number {
  // fetch() decodes a gzip (or other) body but keeps its encoded length: that bounds nothing.
  if (response.headers.has("content-encoding")) return NaN;
  return Number(response.headers.get("content-length") ?? NaN);
}

/** Reads a body of `declared` length (NaN: unknown), at most maxBytes (declared ≤ maxBytes). */
async function readBody(
  response: Response,
  declared: number,
  maxBytes: number,
): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array();
  if (Number.isSafeInteger(declared)) {
    // A length within bounds was declared: one native read, no stream of small parts
    // (what reading it in JS costs made HTTP extract main-thread bound).
    const body = await response.bytes();
    if (body.length > maxBytes) throw new HttpBodyTooLarge(maxBytes);
    return body;
  }
  // Copied, not kept: a part may be a small view of a much larger buffer (decoded ones are).
  const sink = new GrowingBody(maxBytes);
  for await (const part of response.body) sink.append(part); // a throw cancels the stream
  return sink.bytes();
}

function nodeRequest(
  { agent, request: send }: { agent: Agent; request: typeof import("node:https").request },
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Uint8Array | undefined,
  signal: AbortSignal,
  maxBytes: number,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const request = send(url, { method, headers, agent, signal }, (response) => {
      const parts: Uint8Array[] = [];
      let total = 0;
      response.on("data", (part: Uint8Array) => {
        total += part.length;
        if (total > maxBytes) {
          request.destroy();
          const status = response.statusCode ?? 0;
          // The bound is on what a success holds: an error page past it is still its status.
          if (isSuccess(status)) reject(new HttpBodyTooLarge(maxBytes));
          else resolve({ status, body: new Uint8Array() });
        } else {
          parts.push(part);
        }
      });
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, body: concatBytes(parts) });
      });
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(body);
  });
}

/**
 * Refuses CA files without a certificate (Deno's TLS would skip them: every
 * server then fails as untrusted), and a client certificate and key that do
 * not go together (which node:https, for -t, finds only in each handshake).
 */
function checkTlsFiles(options: HttpOptions) {
  for (const pem of options.caCerts ?? []) {
    const problem = certificatesProblem(pem);
    if (problem) throw new HttpNetworkError(`TLS settings rejected: CA certificates: ${problem}`);
  }
  if (options.clientCert && options.clientKey) {
    const problem = keyPairProblem(options.clientCert, options.clientKey);
    if (problem) {
      throw new HttpNetworkError(`TLS settings rejected: client certificate: ${problem}`);
    }
  }
}

function describeNetworkError(error: unknown, url: string): string {
  if (error instanceof HttpNetworkError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  // fetch wraps the cause: "error sending request for url (…): client error (Connect): …"
  const cause = error instanceof Error && error.cause instanceof Error
    ? `: ${error.cause.message}`
    : "";
  const text = `${message}${cause}`;
  // Go desync accepts a self-signed CA certificate as the server's own; rustls never does.
  if (text.includes("CaUsedAsEndEntity")) {
    return "the server's certificate is a CA certificate (CA:TRUE) used as its own server " +
      "certificate, which Deno's TLS refuses even with --ca-cert: re-create it with " +
      "`openssl req -x509 … -addext basicConstraints=critical,CA:FALSE` or have a CA sign it";
  }
  return url.startsWith("https:") ? withTlsHint(text) : text;
}

/**
 * A refused client is told only by the server's alert, or by a connection cut
 * without one (which rustls words with a link to its manual, and node as
 * "socket hang up"; Go desync says "EOF"): say what causes it, or may.
 */
function withTlsHint(text: string): string {
  if (text.includes("CertificateRequired")) {
    return `${text} (the server requires a client certificate: see --client-cert and --client-key)`;
  }
  if (/fatal alert: (UnknownCA|BadCertificate|CertificateUnknown|AccessDenied)/.test(text)) {
    return `${text} (the server refused the client certificate given)`;
  }
  // A server that crashes or restarts cuts connections too: the cause is only a likely one.
  if (text.includes("without sending TLS close_notify") || text === "socket hang up") {
    return text.replace(/: https:\/\/docs\.rs\/\S*$/, "") +
      " (if every request fails so, the server may require a client certificate, or not trust " +
      "the one given: see --client-cert and --client-key)";
  }
  return text;
}
