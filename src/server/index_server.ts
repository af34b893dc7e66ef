/**
 * index-server: index files served over HTTP(S) from a directory, another HTTP
 * index location or an SSH one (read with casync's protocol), at `/<name>.caibx` or `/<name>.caidx` (names may
 * have directories). Names never leave the directory: each path segment is a
 * plain name, none starting with a dot. With `-w`, PUT stores a well-formed
 * index, written under a temporary name and renamed into place.
 */
import type http from "node:http";
import { UsageError } from "../errors.ts";
import { decodeIndex, MAX_INDEX_SIZE } from "../format/index.ts";
import { HttpNetworkError, type HttpOptions, HttpTransport } from "../util/http_client.ts";
import { locationKind } from "../store/location.ts";
import { DEFAULT_SSH_OPTIONS, type SshOptions } from "../store/ssh.ts";
import { parseSshLocation, type SshLocation } from "../store/ssh_location.ts";
import { readIndexOverSsh } from "./ssh_index.ts";
import { Semaphore } from "../util/semaphore.ts";
import { describeFsError, writeAll, writeAtomically } from "../util/fs.ts";
import { readRegularFile, statRegularFile, UnfitFile } from "../util/regular_file.ts";
import { type AccessLog, openAccessLog } from "./access_log.ts";
import { authorizer } from "./auth.ts";
import {
  type ClosableServer,
  type Handler,
  type ListenAddress,
  type ServerLimits,
  startHttpServer,
  type TlsConfig,
} from "./http_server.ts";
import { BodyTooLarge, ClientGone, logWhenDone, readBody, replier } from "./respond.ts";

export interface IndexServerOptions {
  /** A directory or an http(s):// base URL. */
  store: string;
  listen: readonly ListenAddress[];
  writable: boolean;
  tls?: TlsConfig;
  authorization?: string;
  log?: string;
  limits?: Partial<ServerLimits>;
  /** Largest index served or accepted by PUT (default: format/index.ts MAX_INDEX_SIZE). */
  maxIndexSize?: number;
  /** Settings for an HTTP index location. */
  http?: HttpOptions;
  /** Settings for an SSH index location (`ssh://host/dir`, read with casync's protocol). */
  ssh?: SshOptions;
}

/** ssh processes reading indexes at once, unless the SSH options say. */
const SSH_SESSIONS = 8;

const INDEX_PATH =
  /^\/((?:[A-Za-z0-9_+@=-][A-Za-z0-9._+@=-]*\/)*[A-Za-z0-9_+@=-][A-Za-z0-9._+@=-]*\.ca(?:ibx|idx))$/;

/** Longest name a file system takes for one path component (Linux's NAME_MAX). */
const NAME_MAX = 255;

/** The index name a request path names (without the leading slash), or undefined. */
export function indexNameFromPath(target: string): string | undefined {
  const name = INDEX_PATH.exec(target.split("?")[0])?.[1];
  // A name no directory can hold is the client's mistake (400), not the store's failure (502).
  if (name?.split("/").some((part) => part.length > NAME_MAX)) return undefined;
  return name;
}

/** Where index files are read and written. */
interface IndexLocation {
  readonly name: string;
  /** The index bytes, or undefined when there is none; `signal` aborts when the client leaves. */
  get(name: string, signal?: AbortSignal): Promise<Uint8Array | undefined>;
  /** The size, or undefined when there is none. */
  size(name: string, signal?: AbortSignal): Promise<number | undefined>;
  put(name: string, bytes: Uint8Array): Promise<void>;
  close(): void;
}

class DirectoryIndexes implements IndexLocation {
  constructor(readonly name: string, readonly maxBytes: number) {}

  async get(name: string) {
    return await this.#read(name, (path) => readRegularFile(path, this.maxBytes));
  }

  async size(name: string) {
    return (await this.#read(name, (path) => statRegularFile(path, this.maxBytes)))?.size;
  }

  /** Only a regular file of at most maxBytes is an index: a FIFO would hang the request. */
  async #read<T>(name: string, read: (path: string) => Promise<T>): Promise<T | undefined> {
    try {
      return await read(`${this.name}/${name}`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      if (error instanceof UnfitFile) {
        throw new Error(`${error.path} is ${error.what()}, not an index file`);
      }
      throw new Error(`reading ${name}: ${describeFsError(error)}`);
    }
  }

  async put(name: string, bytes: Uint8Array) {
    const path = `${this.name}/${name}`;
    try {
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    } catch (error) {
      throw new Error(`writing ${name}: ${describeFsError(error)}`);
    }
    await writeAtomically(path, (file) => writeAll(file, bytes));
  }

  close() {}
}

class HttpIndexes implements IndexLocation {
  readonly #base: string;
  readonly #transport: HttpTransport;

  constructor(readonly name: string, options: HttpOptions, readonly maxBytes: number) {
    this.#base = name.endsWith("/") ? name : `${name}/`;
    this.#transport = new HttpTransport(options);
  }

  async get(name: string, signal?: AbortSignal) {
    const response = await this.#send("GET", name, undefined, signal);
    return response.status === 404 ? undefined : response.body;
  }

  async size(name: string, signal?: AbortSignal) {
    const response = await this.#send("HEAD", name, undefined, signal);
    return response.status === 404 ? undefined : -1;
  }

  async put(name: string, bytes: Uint8Array) {
    await this.#send("PUT", name, bytes);
  }

  close() {
    this.#transport.close();
  }

  async #send(
    method: "GET" | "HEAD" | "PUT",
    name: string,
    body?: Uint8Array,
    signal?: AbortSignal,
  ) {
    let response;
    try {
      response = await this.#transport.request(method, `${this.#base}${name}`, {
        body,
        signal,
        maxBytes: this.maxBytes,
      });
    } catch (error) {
      if (error instanceof HttpNetworkError) throw new Error(`${method} ${name}: ${error.message}`);
      throw error;
    }
    if (response.status !== 404 && (response.status < 200 || response.status > 299)) {
      throw new Error(`${method} ${name}: HTTP status ${response.status}`);
    }
    return response;
  }
}

/** Indexes read over SSH with casync's protocol (read-only). */
class SshIndexes implements IndexLocation {
  readonly #location: SshLocation;
  /** Bounds the ssh processes running at once. */
  readonly #sessions: Semaphore;

  constructor(readonly name: string, readonly ssh: SshOptions, readonly maxBytes: number) {
    this.#location = parseSshLocation(name);
    this.#sessions = new Semaphore(ssh.sessions ?? SSH_SESSIONS);
  }

  async get(name: string, signal?: AbortSignal) {
    const path = `${this.#location.path.replace(/\/+$/, "")}/${name}`;
    await this.#sessions.acquire(signal);
    try {
      return await readIndexOverSsh({ ...this.#location, path }, this.ssh, {
        maxBytes: this.maxBytes,
        timeoutMs: this.ssh.timeoutMs ?? 60_000,
      }, signal);
    } finally {
      this.#sessions.release();
    }
  }

  async size(name: string, signal?: AbortSignal) {
    return (await this.get(name, signal))?.length;
  }

  put(): Promise<void> {
    return Promise.reject(new Error("indexes cannot be written over SSH"));
  }

  close() {}
}

/** `close` stops the server, then closes its index location and access log. */
export type IndexServer = ClosableServer;

export async function startIndexServer(options: IndexServerOptions): Promise<IndexServer> {
  const kind = locationKind(options.store);
  if (kind === "s3" || kind === "sftp") {
    const scheme = options.store.slice(0, options.store.indexOf(":"));
    throw new UsageError(
      `index store ${options.store}: ${scheme} locations cannot be served ` +
        "(serve a directory, an http(s):// or an ssh:// location)",
    );
  }
  if (kind === "ssh" && options.writable) {
    throw new UsageError(`index store ${options.store}: indexes cannot be written over SSH`);
  }
  let location: IndexLocation;
  if (kind === "ssh") {
    location = new SshIndexes(
      options.store,
      options.ssh ?? DEFAULT_SSH_OPTIONS,
      options.maxIndexSize ?? MAX_INDEX_SIZE,
    );
  } else if (kind === "http") {
    location = new HttpIndexes(
      options.store,
      options.http ?? { timeoutMs: 60_000, errorRetry: 3, retryBaseMs: 500 },
      options.maxIndexSize ?? MAX_INDEX_SIZE,
    );
  } else {
    const dir = options.store.replace(/\/+$/, "") || "/";
    try {
      if (!(await Deno.stat(dir)).isDirectory) {
        throw new Deno.errors.NotADirectory("not a directory");
      }
    } catch (error) {
      throw new UsageError(`index store ${dir}: ${describeFsError(error)}`);
    }
    location = new DirectoryIndexes(dir, options.maxIndexSize ?? MAX_INDEX_SIZE);
  }
  let log: AccessLog | undefined;
  const release = () => {
    log?.close();
    location.close();
  };
  let handler: Handler;
  try {
    log = openAccessLog(options.log);
    handler = indexHandler(location, {
      writable: options.writable,
      authorized: authorizer(options.authorization),
      maxIndexSize: options.maxIndexSize ?? MAX_INDEX_SIZE,
      log,
    });
  } catch (error) {
    release();
    throw error;
  }
  return await startHttpServer(options.listen, handler, {
    tls: options.tls,
    limits: options.limits,
    release,
  });
}

function indexHandler(
  location: IndexLocation,
  options: {
    writable: boolean;
    authorized: (header: string | undefined) => boolean;
    maxIndexSize: number;
    log: AccessLog | undefined;
  },
) {
  const allow = options.writable ? "GET, HEAD, PUT" : "GET, HEAD";
  return (request: http.IncomingMessage, response: http.ServerResponse) => {
    let sent = 0;
    logWhenDone(request, response, options.log, () => sent);
    const reply = replier(response);
    const gone = new AbortController();
    response.once("close", () => gone.abort(new Error("the client went away")));
    (async () => {
      if (!options.authorized(request.headers.authorization)) return reply(401, "unauthorized");
      const method = request.method ?? "";
      if (method !== "GET" && method !== "HEAD" && method !== "PUT") {
        return reply(405, `only ${allow}`, { allow });
      }
      const name = indexNameFromPath(request.url ?? "");
      if (!name) return reply(400, "not an index path: want /<name>.caibx or /<name>.caidx");
      if (method === "PUT") {
        if (!options.writable) {
          return reply(405, "this server is read-only (start it with -w)", { allow });
        }
        let body: Uint8Array;
        try {
          body = await readBody(request, options.maxIndexSize);
        } catch (error) {
          if (error instanceof BodyTooLarge) {
            return reply(413, `${name}: ${error.message}`, {}, true);
          }
          throw error;
        }
        try {
          decodeIndex(body, name);
        } catch (error) {
          return reply(400, (error as Error).message);
        }
        await location.put(name, body);
        return reply(201, `${name} stored`);
      }
      if (method === "HEAD") {
        const size = await location.size(name, gone.signal);
        if (size === undefined) return reply(404, `${name} not found`);
        response.writeHead(200, {
          "content-type": "application/octet-stream",
          ...(size >= 0 ? { "content-length": String(size) } : {}),
        });
        return response.end();
      }
      const bytes = await location.get(name, gone.signal);
      if (!bytes) return reply(404, `${name} not found`);
      sent = bytes.length;
      response.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": String(bytes.length),
      });
      response.end(bytes);
    })().catch((error) => {
      if (response.destroyed || gone.signal.aborted || error instanceof ClientGone) {
        return; // nobody to answer
      }
      console.error(
        `desync: index-server: ${request.method} ${request.url}: ${(error as Error).message}`,
      );
      reply(502, "the index store failed to answer; see the server's log");
    });
  };
}
