/**
 * A minimal HTTP/1.1 client for plain-http GETs over keep-alive connections.
 * fetch() costs about 0.1 ms of CPU per request in this runtime (Request and
 * Response objects, header maps, body streams); a chunk store answers
 * thousands of small GETs per second, and this client does the same work for
 * a fraction of it. It reads bodies straight into the caller's buffer.
 *
 * It speaks only what chunk and index GETs need: one request at a time per
 * connection (no pipelining), Content-Length, chunked and close-delimited
 * bodies. Anything else (a redirect, an encoded body) is handed back for
 * fetch() to do, which also remains the client for https, proxies and other
 * methods.
 */
import { type BodyBuffer, HttpBodyTooLarge, HttpNetworkError } from "./http_errors.ts";

/** The answer, or "fallback" when fetch() should make this request instead. */
export type Http1Answer = { status: number; body: Uint8Array } | "fallback";

/** Largest response head we read: status line and headers together. */
const MAX_HEAD = 64 << 10;
/** Idle connections kept per origin; more are closed when returned. */
const MAX_IDLE = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder("latin1");

/** The proxy variables fetch() honours; with any set (or unreadable), requests go through fetch(). */
export const PROXY_ENV = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] as const;

let proxyKnownAbsent: boolean | undefined;

/** True when no proxy is configured, as far as the permissions let us see; asked once. */
export function noProxyConfigured(): boolean {
  if (proxyKnownAbsent === undefined) {
    proxyKnownAbsent = PROXY_ENV.every((variable) => {
      // A query never prompts; without the permission we cannot tell, so fetch() decides.
      if (Deno.permissions.querySync({ name: "env", variable }).state !== "granted") return false;
      return !Deno.env.get(variable);
    });
  }
  return proxyKnownAbsent;
}

class Connection {
  /** Bytes read past the current position: a response head, or the start of a body. */
  buffer = new Uint8Array(16 << 10);
  start = 0;
  end = 0;

  constructor(readonly conn: Deno.TcpConn) {}

  /** Reads more into the buffer; false at the end of the stream. */
  async fill(): Promise<boolean> {
    if (this.start > 0 && this.start === this.end) this.start = this.end = 0;
    if (this.end === this.buffer.length) {
      if (this.start > 0) {
        this.buffer.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      } else {
        const bigger = new Uint8Array(this.buffer.length * 2);
        bigger.set(this.buffer);
        this.buffer = bigger;
      }
    }
    const n = await this.conn.read(this.buffer.subarray(this.end));
    if (n === null) return false;
    this.end += n;
    return true;
  }

  /** Copies buffered bytes, then reads the rest of `target` from the socket. */
  async readExactly(target: Uint8Array): Promise<void> {
    const buffered = Math.min(this.end - this.start, target.length);
    target.set(this.buffer.subarray(this.start, this.start + buffered));
    this.start += buffered;
    let done = buffered;
    while (done < target.length) {
      const n = await this.conn.read(target.subarray(done));
      if (n === null) throw new ProtocolError("the connection closed in the middle of a body");
      done += n;
    }
  }

  /** One CRLF-terminated line (chunked bodies), without the CRLF. */
  async readLine(limit: number): Promise<string> {
    for (let scanned = this.start;;) {
      for (; scanned + 1 < this.end; scanned++) {
        if (this.buffer[scanned] === 13 && this.buffer[scanned + 1] === 10) {
          const line = decoder.decode(this.buffer.subarray(this.start, scanned));
          this.start = scanned + 2;
          return line;
        }
      }
      if (this.end - this.start > limit) throw new ProtocolError("a line in the body is too long");
      const offset = scanned - this.start;
      if (!await this.fill()) throw new ProtocolError("the connection closed in a chunked body");
      scanned = this.start + offset;
    }
  }

  close() {
    try {
      this.conn.close();
    } catch {
      // already closed (by an abort)
    }
  }
}

/** The server's answer broke HTTP/1.1's framing. */
class ProtocolError extends HttpNetworkError {
  constructor(message: string) {
    super(`malformed HTTP answer: ${message}`);
  }
}

/** A connection that was idle and turned out closed, before any byte of the answer. */
class StaleConnection extends Error {}

interface Head {
  status: number;
  length?: number;
  chunked: boolean;
  keepAlive: boolean;
  encoded: boolean;
}

export class Http1Client {
  readonly #idle = new Map<string, Connection[]>();
  #closed = false;

  /**
   * GETs `url` (http: only). Headers are the caller's; Host, User-Agent and
   * Accept are added. The body is read into `into` when it is large enough.
   */
  async get(
    url: URL,
    headers: Record<string, string>,
    maxBytes: number,
    signal: AbortSignal,
    into?: BodyBuffer,
  ): Promise<Http1Answer> {
    const request = encoder.encode(requestHead(url, headers));
    const origin = url.host;
    const reused = this.#takeIdle(origin);
    if (reused) {
      try {
        return await this.#exchange(origin, reused, request, maxBytes, signal, into);
      } catch (error) {
        // The server closed the idle connection meanwhile: not a failure of this request.
        if (!(error instanceof StaleConnection)) throw error;
      }
    }
    const fresh = await connect(url, signal);
    return await this.#exchange(origin, fresh, request, maxBytes, signal, into, true);
  }

  close() {
    this.#closed = true;
    for (const list of this.#idle.values()) for (const connection of list) connection.close();
    this.#idle.clear();
  }

  #takeIdle(origin: string): Connection | undefined {
    return this.#idle.get(origin)?.pop();
  }

  #release(origin: string, connection: Connection) {
    const list = this.#idle.get(origin) ?? [];
    if (this.#closed || list.length >= MAX_IDLE) return connection.close();
    list.push(connection);
    this.#idle.set(origin, list);
  }

  async #exchange(
    origin: string,
    connection: Connection,
    request: Uint8Array,
    maxBytes: number,
    signal: AbortSignal,
    into: BodyBuffer | undefined,
    fresh = false,
  ): Promise<Http1Answer> {
    // Closing the socket is what interrupts a pending read or write.
    const onAbort = () => connection.close();
    signal.addEventListener("abort", onAbort, { once: true });
    let reusable = false;
    try {
      if (signal.aborted) throw signal.reason;
      let head: Head;
      try {
        await writeAll(connection.conn, request);
        head = await readHead(connection, maxBytes);
      } catch (error) {
        if (!fresh && !signal.aborted && connection.start === 0 && connection.end === 0) {
          throw new StaleConnection();
        }
        throw error;
      }
      if (head.encoded || (head.status >= 300 && head.status < 400)) return "fallback";
      const body = await readBody(connection, head, maxBytes, into);
      reusable = head.keepAlive && connection.start === connection.end;
      return { status: head.status, body };
    } catch (error) {
      // What the closed socket says is not the reason: the signal's is.
      if (signal.aborted) throw signal.reason;
      throw error;
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (reusable && !signal.aborted) {
        connection.start = connection.end = 0;
        this.#release(origin, connection);
      } else {
        connection.close();
      }
    }
  }
}

function requestHead(url: URL, headers: Record<string, string>): string {
  let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n` +
    `user-agent: Deno/${Deno.version.deno}\r\naccept: */*\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === "host") continue;
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
      throw new HttpNetworkError(`header ${JSON.stringify(name)} holds a line break`);
    }
    head += `${name}: ${value}\r\n`;
  }
  return head + "\r\n";
}

async function connect(url: URL, signal: AbortSignal): Promise<Connection> {
  if (signal.aborted) throw signal.reason;
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const connecting = Deno.connect({ hostname, port: Number(url.port || 80) });
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const conn = await Promise.race([connecting, aborted]);
    conn.setNoDelay(true);
    return new Connection(conn);
  } catch (error) {
    // A connection that completes after the abort is closed, not leaked.
    connecting.then((conn) => conn.close(), () => {});
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array) {
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
}

/** Reads the status line and headers; skips interim (1xx) answers. */
async function readHead(connection: Connection, maxBytes: number): Promise<Head> {
  for (;;) {
    let end = -1;
    for (let scanned = connection.start; end < 0;) {
      const buffer = connection.buffer;
      for (; scanned + 3 < connection.end; scanned++) {
        if (
          buffer[scanned] === 13 && buffer[scanned + 1] === 10 && buffer[scanned + 2] === 13 &&
          buffer[scanned + 3] === 10
        ) {
          end = scanned;
          break;
        }
      }
      if (end >= 0 && end - connection.start <= MAX_HEAD) break;
      if (end >= 0 || connection.end - connection.start > MAX_HEAD) {
        throw new ProtocolError(`the head exceeds ${MAX_HEAD} bytes`);
      }
      const offset = scanned - connection.start;
      if (!await connection.fill()) {
        throw new ProtocolError("the connection closed before the answer's head ended");
      }
      scanned = connection.start + offset;
    }
    const text = decoder.decode(connection.buffer.subarray(connection.start, end));
    connection.start = end + 4;
    const head = parseHead(text, maxBytes);
    if (head.status >= 100 && head.status < 200) continue;
    return head;
  }
}

function parseHead(text: string, maxBytes: number): Head {
  const lines = text.split("\r\n");
  const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]);
  if (!status) throw new ProtocolError(`status line ${JSON.stringify(lines[0].slice(0, 80))}`);
  const head: Head = {
    status: Number(status[2]),
    chunked: false,
    keepAlive: status[1] === "1",
    encoded: false,
  };
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new ProtocolError(`header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const lower = value.toLowerCase();
    if (name === "content-length") {
      if (!/^\d+$/.test(value)) throw new ProtocolError(`content-length ${value}`);
      const length = Number(value);
      if (head.length !== undefined && head.length !== length) {
        throw new ProtocolError("two different content-length headers");
      }
      if (length > maxBytes) throw new HttpBodyTooLarge(maxBytes);
      head.length = length;
    } else if (name === "transfer-encoding") {
      const codings = lower.split(",").map((coding) => coding.trim());
      if (codings.at(-1) !== "chunked" || codings.length > 1) head.encoded = true;
      head.chunked = codings.at(-1) === "chunked";
    } else if (name === "connection") {
      const tokens = lower.split(",").map((token) => token.trim());
      if (tokens.includes("close")) head.keepAlive = false;
      else if (tokens.includes("keep-alive")) head.keepAlive = true;
    } else if (name === "content-encoding") {
      if (lower !== "identity") head.encoded = true;
    }
  }
  return head;
}

async function readBody(
  connection: Connection,
  head: Head,
  maxBytes: number,
  into: BodyBuffer | undefined,
): Promise<Uint8Array> {
  if (head.status === 204 || head.status === 304) return new Uint8Array();
  if (head.chunked) return await readChunked(connection, maxBytes, into);
  if (head.length !== undefined) {
    const body = bodyTarget(head.length, into);
    await connection.readExactly(body);
    return body;
  }
  // Delimited by the end of the connection.
  head.keepAlive = false;
  const sink = new GrowingBody(maxBytes, into);
  sink.append(connection.buffer.subarray(connection.start, connection.end));
  connection.start = connection.end;
  while (await connection.fill()) {
    sink.append(connection.buffer.subarray(connection.start, connection.end));
    connection.start = connection.end;
  }
  return sink.bytes();
}

async function readChunked(
  connection: Connection,
  maxBytes: number,
  into: BodyBuffer | undefined,
): Promise<Uint8Array> {
  const sink = new GrowingBody(maxBytes, into);
  for (;;) {
    const line = await connection.readLine(1024);
    const size = /^([0-9a-fA-F]{1,12})(?:[ \t]*;.*)?$/.exec(line);
    if (!size) throw new ProtocolError(`chunk size line ${JSON.stringify(line.slice(0, 40))}`);
    const length = parseInt(size[1], 16);
    if (length === 0) break;
    await connection.readExactly(sink.reserve(length));
    if ((await connection.readLine(0)) !== "") throw new ProtocolError("chunk without its CRLF");
  }
  // Trailers, up to the empty line.
  for (let count = 0; (await connection.readLine(8192)) !== ""; count++) {
    if (count > 100) throw new ProtocolError("too many trailer lines");
  }
  return sink.bytes();
}

/** Where a body of known length goes: the lent buffer when it fits, else its own. */
function bodyTarget(length: number, into: BodyBuffer | undefined): Uint8Array {
  if (into && !into.buffer.detached && into.buffer.byteLength >= length) {
    return new Uint8Array(into.buffer, 0, length);
  }
  return new Uint8Array(length);
}

/** A body of unknown length, bounded by maxBytes. */
class GrowingBody {
  #bytes: Uint8Array;
  #length = 0;

  constructor(readonly maxBytes: number, into: BodyBuffer | undefined) {
    this.#bytes = into && !into.buffer.detached
      ? new Uint8Array(into.buffer)
      : new Uint8Array(Math.min(maxBytes, 64 << 10));
  }

  /** Room for `count` more bytes, counted as written. */
  reserve(count: number): Uint8Array {
    if (this.#length + count > this.maxBytes) throw new HttpBodyTooLarge(this.maxBytes);
    if (this.#length + count > this.#bytes.length) {
      const size = Math.min(this.maxBytes, Math.max(this.#length + count, this.#bytes.length * 2));
      const bigger = new Uint8Array(size);
      bigger.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = bigger;
    }
    const room = this.#bytes.subarray(this.#length, this.#length + count);
    this.#length += count;
    return room;
  }

  append(part: Uint8Array) {
    if (part.length) this.reserve(part.length).set(part);
  }

  bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }
}
