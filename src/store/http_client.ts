/**
 * HTTP(S) requests for stores and index files: keep-alive connections, a
 * timeout per request, retries on network errors and 5xx answers (attempt k
 * waits k × the base interval), custom CAs, client certificates, an
 * Authorization header, and (only when asked) trust in any certificate.
 */
import type { Agent } from "node:https";
import { concatBytes } from "../util/bytes.ts";

export interface HttpOptions {
  /** Per request, in milliseconds. */
  timeoutMs: number;
  /** Extra attempts after a network error or a 5xx answer. */
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

/** The request could not be completed (connection refused, timeout, TLS failure, …). */
export class HttpNetworkError extends Error {}

export class HttpTransport {
  readonly #options: HttpOptions;
  readonly #client?: Deno.HttpClient;
  /** For -t only: node:https is loaded then, as it is slow to load and rarely needed. */
  readonly #agent?: Promise<{ agent: Agent; request: typeof import("node:https").request }>;

  constructor(options: HttpOptions = DEFAULT_HTTP_OPTIONS) {
    this.#options = options;
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

  /** Sends a request, retrying as configured; the last answer is returned whatever its status. */
  async request(
    method: HttpMethod,
    url: string,
    init: { body?: Uint8Array; signal?: AbortSignal; headers?: Record<string, string> } = {},
  ): Promise<HttpResponse> {
    const { errorRetry, retryBaseMs } = this.#options;
    for (let attempt = 0;; attempt++) {
      let outcome: HttpResponse | HttpNetworkError;
      try {
        outcome = await this.#once(method, url, init.body, init.signal, init.headers);
      } catch (error) {
        if (init.signal?.aborted) throw init.signal.reason;
        outcome = new HttpNetworkError(describeNetworkError(error));
      }
      const retryable = outcome instanceof HttpNetworkError || outcome.status >= 500;
      if (!retryable || attempt >= errorRetry) {
        if (outcome instanceof HttpNetworkError) throw outcome;
        return outcome;
      }
      await sleep((attempt + 1) * retryBaseMs, init.signal);
    }
  }

  close(): void {
    this.#client?.close();
    this.#agent?.then(({ agent }) => agent.destroy());
  }

  async #once(
    method: string,
    url: string,
    body?: Uint8Array,
    signal?: AbortSignal,
    extraHeaders?: Record<string, string>,
  ) {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = {};
    if (this.#options.authorization) headers.authorization = this.#options.authorization;
    if (this.#options.cookie) headers.cookie = this.#options.cookie;
    Object.assign(headers, extraHeaders);
    if (this.#agent && url.startsWith("https:")) {
      return await nodeRequest(await this.#agent, method, url, headers, body, combined);
    }
    try {
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
      const bytes = method === "HEAD"
        ? new Uint8Array()
        : new Uint8Array(await response.arrayBuffer());
      if (method === "HEAD") await response.body?.cancel();
      return { status: response.status, body: bytes };
    } catch (error) {
      if (timeout.aborted && !signal?.aborted) {
        throw new HttpNetworkError(`timed out after ${this.#options.timeoutMs} ms`);
      }
      throw error;
    }
  }
}

function nodeRequest(
  { agent, request: send }: { agent: Agent; request: typeof import("node:https").request },
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Uint8Array | undefined,
  signal: AbortSignal,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const request = send(url, { method, headers, agent, signal }, (response) => {
      const parts: Uint8Array[] = [];
      response.on("data", (part: Uint8Array) => parts.push(part));
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, body: concatBytes(parts) });
      });
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(body);
  });
}

function describeNetworkError(error: unknown): string {
  if (error instanceof HttpNetworkError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  // fetch wraps the cause: "error sending request for url (…): client error (Connect): …"
  const cause = error instanceof Error && error.cause instanceof Error
    ? `: ${error.cause.message}`
    : "";
  return `${message}${cause}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
