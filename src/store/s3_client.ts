/**
 * A small S3 client for one bucket: GET, HEAD, PUT and DELETE of objects and a
 * paginated ListObjectsV2, each request signed with AWS Signature V4 (by
 * npm:aws4fetch's signer) and sent through the shared HTTP transport, so
 * timeouts, retries and TLS settings are the same as for HTTP stores.
 *
 * Locations: `s3+http(s)://host[:port]/bucket[/prefix][?lookup=path|dns|auto]`.
 * Requests are path-style (`host/bucket/key`) unless `lookup=dns` asks for
 * virtual-host style (`bucket.host/key`); `auto` is path-style except on AWS.
 */
import { AwsV4Signer } from "aws4fetch";
import { StoreError } from "../errors.ts";
import type { S3Location } from "./s3_location.ts";
import {
  HttpMethod,
  HttpNetworkError,
  type HttpOptions,
  type HttpResponse,
  HttpTransport,
} from "../util/http_client.ts";

/** What an answer other than an object's body may hold (S3's XML: an error, a status). */
const ANSWER_MAX = 64 << 10;
/** A listing page of 1000 keys is some 300 KiB of XML; this leaves room. */
const LIST_PAGE_MAX = 8 << 20;

/** Credentials and region for signing; without a key, requests go unsigned (public buckets). */
export interface S3Auth {
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  region: string;
}

/** A key in a URL path: each segment percent-encoded, slashes kept. */
function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

/** The text of the first `<tag>` element, XML entities decoded. */
function xmlText(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return match ? decodeXml(match[1]) : undefined;
}

function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, entity: string) => {
    const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
    if (entity[0] !== "#") return named[entity.toLowerCase()];
    return String.fromCodePoint(
      entity[1] === "x" || entity[1] === "X"
        ? parseInt(entity.slice(2), 16)
        : parseInt(entity.slice(1), 10),
    );
  });
}

/** One page of a ListObjectsV2 answer. */
export function parseListPage(xml: string): { keys: string[]; next?: string } {
  // Anything else (a proxy's HTML page, say) would read as an empty store.
  if (!/<ListBucketResult[\s>]/.test(xml)) {
    throw new Error("the answer is not a ListObjectsV2 result");
  }
  const keys: string[] = [];
  for (const match of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const key = xmlText(match[1], "Key");
    if (key !== undefined) keys.push(key);
  }
  const truncated = xmlText(xml, "IsTruncated") === "true";
  const next = truncated ? xmlText(xml, "NextContinuationToken") : undefined;
  if (truncated && !next) throw new Error("a truncated listing without a continuation token");
  return { keys, next };
}

const DENIED_HINT = "the S3 credentials were refused: check S3_ACCESS_KEY and S3_SECRET_KEY " +
  "(or AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, the config file's s3-credentials)";

export class S3Client {
  readonly name: string;
  readonly location: S3Location;
  readonly #auth: S3Auth;
  readonly #transport: HttpTransport;
  /** aws4fetch caches derived signing keys here (one per day and region). */
  readonly #signingKeys = new Map<string, ArrayBuffer>();

  constructor(name: string, location: S3Location, auth: S3Auth, http: HttpOptions) {
    this.name = name;
    this.location = location;
    this.#auth = auth;
    try {
      // Store credentials, not an Authorization header from --http-auth, sign S3 requests.
      this.#transport = new HttpTransport({ ...http, authorization: undefined });
    } catch (error) {
      throw new StoreError(name, (error as Error).message, { cause: error });
    }
  }

  /** The URL of an object (a key below the bucket, prefix included) or of the bucket. */
  url(key: string, query = ""): string {
    const { protocol, host, bucket, virtualHost } = this.location;
    const base = virtualHost
      ? `${protocol}//${bucket}.${host}/`
      : `${protocol}//${host}/${bucket}/`;
    return `${base}${encodeKey(key)}${query ? `?${query}` : ""}`;
  }

  /** The object's bytes (no more than `maxBytes`), or undefined when there is no such key. */
  async getObject(
    key: string,
    what: string,
    signal: AbortSignal | undefined,
    maxBytes: number,
  ): Promise<Uint8Array | undefined> {
    const response = await this.#send("GET", key, what, { signal, maxBytes });
    if (response.status === 404 && s3Code(response) !== "NoSuchBucket") return undefined;
    this.#expectOk(response, "GET", what);
    return response.body;
  }

  async headObject(key: string, what: string, signal?: AbortSignal): Promise<boolean> {
    const response = await this.#send("HEAD", key, what, { signal });
    if (response.status === 404) return false;
    this.#expectOk(response, "HEAD", what);
    return true;
  }

  async putObject(
    key: string,
    body: Uint8Array,
    contentType: string,
    what: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const headers = { "content-type": contentType };
    const response = await this.#send("PUT", key, what, { body, signal, headers });
    this.#expectOk(response, "PUT", what);
  }

  /** Deletes an object; deleting a key that is not there is not an error (S3 answers 204). */
  async deleteObject(key: string, what: string, signal?: AbortSignal): Promise<void> {
    const response = await this.#send("DELETE", key, what, { signal });
    if (response.status === 404 && s3Code(response) !== "NoSuchBucket") return;
    this.#expectOk(response, "DELETE", what);
  }

  /** Every key under `prefix`, in S3's (lexicographic) order, a page of up to 1000 at a time. */
  async *listKeys(prefix: string, signal?: AbortSignal): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ "list-type": "2", prefix, "max-keys": "1000" });
      if (token) query.set("continuation-token", token);
      const response = await this.#send("GET", "", "listing", {
        signal,
        query: query.toString(),
        maxBytes: LIST_PAGE_MAX,
      });
      this.#expectOk(response, "GET", "listing");
      let page;
      try {
        page = parseListPage(new TextDecoder().decode(response.body));
      } catch (error) {
        throw new StoreError(this.name, `listing: ${(error as Error).message}`);
      }
      yield* page.keys;
      // The same page asked for again would be listed again, for ever.
      if (page.next !== undefined && page.next === token) {
        throw new StoreError(this.name, "listing: the server repeats its continuation token");
      }
      token = page.next;
    } while (token);
  }

  close(): void {
    this.#transport.close();
  }

  async #send(
    method: HttpMethod,
    key: string,
    what: string,
    init: {
      body?: Uint8Array;
      signal?: AbortSignal;
      headers?: Record<string, string>;
      query?: string;
      /** The largest body read; by default an answer's (an error's XML), ANSWER_MAX. */
      maxBytes?: number;
    },
  ): Promise<HttpResponse> {
    const url = this.url(key, init.query);
    const headers = await this.#sign(method, url, init.headers ?? {});
    try {
      return await this.#transport.request(method, url, {
        body: init.body,
        signal: init.signal,
        headers,
        maxBytes: init.maxBytes ?? ANSWER_MAX,
      });
    } catch (error) {
      if (error instanceof HttpNetworkError) {
        throw new StoreError(this.name, `${method} ${what}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  #sign(method: string, url: string, headers: Record<string, string>) {
    return signS3Request(method, url, headers, this.#auth, { cache: this.#signingKeys });
  }

  #expectOk(response: HttpResponse, method: string, what: string) {
    if (response.status >= 200 && response.status <= 299) return;
    const code = s3Code(response);
    const detail = `${method} ${what}: HTTP status ${response.status}${code ? ` ${code}` : ""}`;
    if (code === "NoSuchBucket") {
      throw new StoreError(this.name, `bucket "${this.location.bucket}" does not exist`);
    }
    if (response.status === 403 || response.status === 401) {
      throw new StoreError(this.name, `${detail}: ${DENIED_HINT}`);
    }
    throw new StoreError(this.name, detail);
  }
}

/**
 * The headers of a request with its SigV4 signature added (Authorization,
 * X-Amz-Date, X-Amz-Content-Sha256 and, with a session token,
 * X-Amz-Security-Token); unchanged without credentials. The payload is not
 * hashed (UNSIGNED-PAYLOAD) unless the caller sets X-Amz-Content-Sha256:
 * chunks are verified by their IDs anyway.
 */
export async function signS3Request(
  method: string,
  url: string,
  headers: Record<string, string>,
  auth: S3Auth,
  options: { cache?: Map<string, ArrayBuffer>; datetime?: string } = {},
): Promise<Record<string, string>> {
  const { accessKeyId, secretAccessKey, sessionToken, region } = auth;
  if (!accessKeyId || !secretAccessKey) return headers;
  const signed = await new AwsV4Signer({
    method,
    url,
    headers,
    accessKeyId,
    secretAccessKey,
    sessionToken,
    service: "s3",
    region,
    cache: options.cache,
    datetime: options.datetime,
  }).sign();
  return Object.fromEntries(signed.headers);
}

/**
 * The `<Code>` of an S3 error answer (absent for HEAD, which has no body).
 * S3's codes are words (`AccessDenied`, `SlowDown`): anything else is no code,
 * and cannot put a line break or a terminal escape into a message.
 */
function s3Code(response: HttpResponse): string | undefined {
  if (response.body.length === 0 || response.body.length > 65536) return undefined;
  const code = xmlText(new TextDecoder().decode(response.body), "Code");
  return code !== undefined && /^[A-Za-z0-9._-]{1,64}$/.test(code) ? code : undefined;
}
