/**
 * The chunk server's request handler: `GET|HEAD /<4 hex>/<id>.cacnk` (or the bare
 * `/<4 hex>/<id>` when serving uncompressed), and `PUT` when writable. Only
 * well-formed chunk paths reach a store. Chunks are immutable, so answers carry
 * the ID as ETag, may be cached for a year, and `If-None-Match` gets 304.
 */
import type http from "node:http";
import zlib from "node:zlib";
import type { CodecPool } from "../chunk/codec_pool.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";
import type { WriteStore } from "../store/store.ts";
import type { AccessLog } from "./access_log.ts";
import type { ChunkSource, ServedChunk } from "./chunk_source.ts";
import type { Handler } from "./http_server.ts";
import { BodyTooLarge, logWhenDone, readBody, replier, type Reply } from "./respond.ts";

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

/** The chunk ID a request path names, or a reason it names none. */
export function chunkIdFromPath(
  target: string,
  uncompressed: boolean,
): { id: ChunkId } | { error: string } {
  const path = target.split("?")[0];
  const match = CHUNK_PATH.exec(path);
  const want = uncompressed ? "/<4 hex>/<id>" : "/<4 hex>/<id>.cacnk";
  if (!match || Boolean(match[3]) === uncompressed || !match[2].startsWith(match[1])) {
    return { error: `not a chunk path: want ${want}` };
  }
  return { id: match[2] as ChunkId };
}

/** Whether an If-None-Match header lists `etag` (or is `*`). */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === etag || t === `W/${etag}`;
  });
}

export function chunkHandler(options: ChunkHandlerOptions): Handler {
  const slots = new Slots(PUT_SLOTS);
  return (request, response) => {
    let sent = 0;
    logWhenDone(request, response, options.log, () => sent);
    const reply = replier(response);
    (async () => {
      if (!options.authorized(request.headers.authorization)) {
        return reply(401, "unauthorized");
      }
      const method = request.method ?? "";
      if (method !== "GET" && method !== "HEAD" && method !== "PUT") {
        return reply(405, "only GET, HEAD and PUT", { allow: allowed(options) });
      }
      const parsed = chunkIdFromPath(request.url ?? "", options.uncompressed);
      if ("error" in parsed) return reply(400, parsed.error);
      const { id } = parsed;
      if (method === "PUT") return await put(id, request, reply, options, slots);

      const etag = `"${id}"`;
      const cacheHeaders = { etag, "cache-control": IMMUTABLE };
      const conditional = matchesEtag(request.headers["if-none-match"], etag);
      if (method === "GET" && !conditional) {
        // Most requests: a chunk file at hand, answered without waiting on anything.
        const local = options.source.readLocal(id);
        if (local) return send(local);
      }
      const gone = new AbortController();
      response.once("close", () => gone.abort(new Error("the client went away")));
      if (method === "HEAD" || conditional) {
        const size = await options.source.size(id, gone.signal);
        if (size === undefined) return reply(404, `chunk ${id} not found`);
        if (method === "GET") {
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
      const chunk = await options.source.get(id, gone.signal);
      if (!chunk) return reply(404, `chunk ${id} not found`);
      send(chunk);

      function send(chunk: ServedChunk) {
        sent = chunk.body.length;
        response.writeHead(200, {
          etag,
          "cache-control": IMMUTABLE,
          "content-type": "application/octet-stream",
          "content-length": String(chunk.body.length),
        });
        // The buffer may be reused only once it has been handed to the socket.
        response.end(chunk.body, () => chunk.release());
      }
    })().catch((error) => {
      if (response.destroyed) return;
      options.report(`${request.method} ${request.url}: ${describe(error)}`);
      reply(502, "the store failed to answer; see the server's log");
    });
  };
}

async function put(
  id: ChunkId,
  request: http.IncomingMessage,
  reply: Reply,
  options: ChunkHandlerOptions,
  slots: Slots,
) {
  const store = options.writeStore;
  if (!store) {
    return reply(405, "this server is read-only (start it with -w)", { allow: "GET, HEAD" });
  }
  await slots.take();
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
    slots.give();
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

/** A counting semaphore. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(count: number) {
    this.#free = count;
  }

  async take(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  give() {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}
