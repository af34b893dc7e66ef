/**
 * The chunk server's request handler: `GET|HEAD /<4 hex>/<id>.cacnk` (or the bare
 * `/<4 hex>/<id>` when serving uncompressed), and `PUT` when writable. Only
 * well-formed chunk paths reach a store. Chunks are immutable, so answers carry
 * the ID as ETag, may be cached for a year, and `If-None-Match` gets 304.
 */
import type http from "node:http";
import zlib from "node:zlib";
import type { CodecPool } from "../chunk/codec_pool.ts";
import { ChunkInvalid } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";
import type { WriteStore } from "../store/store.ts";
import type { AccessLog } from "./access_log.ts";
import type { ChunkSource, ServedChunk } from "./chunk_source.ts";
import type { Handler } from "./http_server.ts";
import { Semaphore } from "../util/semaphore.ts";
import { BodyTooLarge, ClientGone, logWhenDone, readBody, replier, sendText } from "./respond.ts";

export interface ChunkHandlerOptions {
  source: ChunkSource;
  /** Where PUT chunks go (`-w`); without it PUT is 405. */
  writeStore?: WriteStore;
  codec: CodecPool;
  /** Digests a PUT chunk may hash to. */
  digests: readonly Digest[];
  /** Serve and accept plain chunk data at `/<4 hex>/<id>` (`-u`). */
  uncompressed: boolean;
  authorized: (header: string | undefined) => boolean;
  /** Largest chunk accepted by PUT, compressed or plain. */
  maxChunkSize: number;
  log?: AccessLog;
  /** Reports a failure of the server's own (not the client's) on stderr. */
  report: (message: string) => void;
}

/** The default bound on PUT chunks: casync's protocol carries no bigger message. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** PUT bodies decoded and hashed at once; further uploads wait (bounds memory). */
const PUT_SLOTS = 8;

const IMMUTABLE = "public, max-age=31536000, immutable";
const CHUNK_PATH = /^\/([0-9a-f]{4})\/([0-9a-f]{64})(\.cacnk)?$/;

/** The chunk ID a request path names, or undefined when it names none. */
export function chunkIdOf(target: string, uncompressed: boolean): ChunkId | undefined {
  const query = target.indexOf("?");
  const match = CHUNK_PATH.exec(query < 0 ? target : target.slice(0, query));
  if (!match || Boolean(match[3]) === uncompressed || !match[2].startsWith(match[1])) {
    return undefined;
  }
  return match[2] as ChunkId;
}

function notChunkPath(uncompressed: boolean): string {
  return `not a chunk path: want ${uncompressed ? "/<4 hex>/<id>" : "/<4 hex>/<id>.cacnk"}`;
}

/** Whether an If-None-Match header lists `etag` (or is `*`). */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === etag || t === `W/${etag}`;
  });
}

/** The body bytes an access log line reports. */
interface Sent {
  bytes: number;
}

export function chunkHandler(options: ChunkHandlerOptions): Handler {
  const slots = new Semaphore(PUT_SLOTS);
  const { source, uncompressed, authorized, log } = options;
  const fail = (request: http.IncomingMessage, response: http.ServerResponse, error: unknown) => {
    if (response.destroyed || error instanceof ClientGone) return; // nobody to answer
    options.report(`${request.method} ${request.url}: ${describe(error)}`);
    // The body tells what failed, never the bytes of an invalid chunk.
    const what = error instanceof ChunkInvalid
      ? `chunk ${error.id} is invalid in the server's store`
      : "the store failed to answer";
    sendText(response, 502, `${what}; see the server's log`);
  };
  // Most requests are a GET of a chunk file at hand: answered synchronously, with
  // no promise, closure or abort controller made for them.
  const handle: Handler = (request, response) => {
    const sent = log ? loggedWhenDone(request, response, log) : undefined;
    if (!authorized(request.headers.authorization)) {
      return sendText(response, 401, "unauthorized");
    }
    const method = request.method;
    if (method !== "GET" && method !== "HEAD" && method !== "PUT") {
      return sendText(response, 405, "only GET, HEAD and PUT", { allow: allowed(options) });
    }
    const id = chunkIdOf(request.url ?? "", uncompressed);
    if (id === undefined) return sendText(response, 400, notChunkPath(uncompressed));
    if (method === "PUT") {
      put(id, request, response, options, slots)
        .catch((error) => fail(request, response, error));
      return;
    }
    const ifNoneMatch = request.headers["if-none-match"];
    const conditional = ifNoneMatch !== undefined && matchesEtag(ifNoneMatch, `"${id}"`);
    if (method === "GET" && !conditional) {
      const local = source.readLocal(id);
      if (local) return sendChunk(response, id, local, sent);
    }
    answerLater(id, method === "HEAD", conditional, response, source, sent)
      .catch((error) => fail(request, response, error));
  };
  return (request, response) => {
    try {
      handle(request, response);
    } catch (error) {
      fail(request, response, error);
    }
  };
}

/** HEAD, conditional GET, and chunks not in a local store directory. */
async function answerLater(
  id: ChunkId,
  head: boolean,
  conditional: boolean,
  response: http.ServerResponse,
  source: ChunkSource,
  sent: Sent | undefined,
) {
  const gone = new AbortController();
  response.once("close", () => gone.abort(new Error("the client went away")));
  if (head || conditional) {
    const size = await source.size(id, gone.signal);
    if (size === undefined) return sendText(response, 404, `chunk ${id} not found`);
    const cacheHeaders = { etag: `"${id}"`, "cache-control": IMMUTABLE };
    if (!head) {
      response.writeHead(304, cacheHeaders);
      return response.end();
    }
    response.writeHead(200, {
      ...cacheHeaders,
      "content-type": "application/octet-stream",
      ...(size >= 0 ? { "content-length": String(size) } : {}),
    });
    return response.end();
  }
  // A GET comes here only when readLocal did not find the chunk.
  const chunk = await source.get(id, gone.signal);
  if (!chunk) return sendText(response, 404, `chunk ${id} not found`);
  sendChunk(response, id, chunk, sent);
}

function sendChunk(
  response: http.ServerResponse,
  id: ChunkId,
  chunk: ServedChunk,
  sent: Sent | undefined,
) {
  if (sent) sent.bytes = chunk.body.length;
  response.writeHead(200, {
    etag: `"${id}"`,
    "cache-control": IMMUTABLE,
    "content-type": "application/octet-stream",
    "content-length": String(chunk.body.length),
  });
  // The buffer may be reused only once it has been handed to the socket.
  response.end(chunk.body, chunk.release);
}

function loggedWhenDone(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  log: AccessLog,
): Sent {
  const sent = { bytes: 0 };
  logWhenDone(request, response, log, () => sent.bytes);
  return sent;
}

async function put(
  id: ChunkId,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  options: ChunkHandlerOptions,
  slots: Semaphore,
) {
  const reply = replier(response);
  const store = options.writeStore;
  if (!store) {
    return reply(405, "this server is read-only (start it with -w)", { allow: "GET, HEAD" });
  }
  // A client that leaves while its upload waits gives up its place in the queue.
  const gone = new AbortController();
  const onClose = () => gone.abort(new Error("the client went away"));
  response.once("close", onClose);
  try {
    await slots.acquire(gone.signal);
  } catch {
    return; // nobody to answer
  } finally {
    response.off("close", onClose);
  }
  try {
    let body: Uint8Array;
    try {
      body = await readBody(request, options.maxChunkSize);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        return reply(413, `chunk ${id}: ${error.message}`, {}, true);
      }
      throw error;
    }
    let plain: Uint8Array;
    try {
      plain = options.uncompressed ? body : await decompressBounded(body, options.maxChunkSize);
    } catch (error) {
      return reply(
        400,
        `chunk ${id}: not a zstd frame of at most ${options.maxChunkSize} bytes: ${
          describe(error)
        }`,
      );
    }
    const actual: string[] = [];
    for (const digest of options.digests) {
      actual.push(await options.codec.hash(plain, digest));
      if (actual.at(-1) === id) break;
    }
    if (actual.at(-1) !== id) {
      return reply(400, `chunk ${id}: the data hashes to ${actual.join(" / ")}`);
    }
    await store.storeChunk(options.uncompressed ? { id, plain } : { id, compressed: body, plain });
    reply(201, `chunk ${id} stored`);
  } finally {
    slots.release();
  }
}

/** zstd-decompresses at most `limit` bytes of output (a small frame may claim gigabytes). */
function decompressBounded(data: Uint8Array, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    zlib.zstdDecompress(data, { maxOutputLength: limit }, (error, result) => {
      if (error) reject(error);
      else resolve(new Uint8Array(result.buffer, result.byteOffset, result.byteLength));
    });
  });
}

function allowed(options: ChunkHandlerOptions): string {
  return options.writeStore ? "GET, HEAD, PUT" : "GET, HEAD";
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
