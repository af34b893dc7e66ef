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
import {
  type BodyBuffer,
  HttpBodyTooLarge,
  HttpFinalError,
  HttpNetworkError,
} from "./http_errors.ts";
import { MAX_TIMER_MS } from "./tasks.ts";

/** The answer, or "fallback" when fetch() should make this request instead. */
export type Http1Answer = { status: number; body: Uint8Array } | "fallback";

/** Largest response head we read: status line and headers together. */
const MAX_HEAD = 64 << 10;
/** Idle connections kept per origin; more are closed when returned. */
const MAX_IDLE = 64;

/** An idle connection older than this is closed rather than reused (NATs forget them). */
const IDLE_LIMIT_MS = 30_000;

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
  idleSince = 0;
  /** The server sent something, or closed, while the connection was idle: not reusable. */
  spoiled = false;
  /**
   * While idle, a read is kept waiting, so that whatever the server sends then
   * (a 408, a close) is noticed; the next exchange's first read takes it over.
   */
  #idleRead?: Promise<number | null>;

  constructor(readonly conn: Deno.TcpConn) {}

  /** Puts the connection aside between requests (start and end are 0). */
  park() {
    this.idleSince = performance.now();
    this.spoiled = false;
    this.conn.unref(); // an idle connection does not keep the process alive
    const read = this.conn.read(this.buffer);
    this.#idleRead = read;
    read.then(() => this.spoiled = true, () => this.spoiled = true);
  }

  /** Takes the connection back into use. */
  unpark() {
    this.conn.ref();
  }

  /** Reads more into the buffer; false at the end of the stream. */
  async fill(): Promise<boolean> {
    if (this.#idleRead) {
      // Issued into the empty buffer when the connection went idle.
      const pending = this.#idleRead;
      this.#idleRead = undefined;
      const n = await pending;
      if (n === null) return false;
      this.end += n;
      return true;
    }
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

  /** One line of a chunked body, without its line end (CRLF, or a bare LF). */
  async readLine(limit: number): Promise<string> {
    for (let scanned = this.start;;) {
      for (; scanned < this.end; scanned++) {
        if (this.buffer[scanned] !== 10) continue;
        const cr = scanned > this.start && this.buffer[scanned - 1] === 13 ? 1 : 0;
        const line = decoder.decode(this.buffer.subarray(this.start, scanned - cr));
        this.start = scanned + 1;
        return line;
      }
      // Past the limit and its CRLF, the line is too long whatever comes next.
      if (this.end - this.start > limit + 2) {
        throw new ProtocolError("a line in the body is too long");
      }
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

/** A reused connection the server had given up (closed, or timed out with a 408): not this request's failure. */
class StaleConnection extends Error {}

export interface Head {
  status: number;
  length?: number;
  chunked: boolean;
  keepAlive: boolean;
  encoded: boolean;
}

export class Http1Client {
  readonly #idle = new Map<string, Connection[]>();
  /** Origins that redirect or encode bodies: their GETs go to fetch() from then on. */
  readonly #viaFetch = new Set<string>();
  readonly #idleLimitMs: number;
  #closed = false;
  /** GETs under way, for their deadlines (see #track). */
  readonly #active = new Set<Exchange>();
  readonly #bySignal = new WeakMap<AbortSignal, Set<Exchange>>();
  #watchdog?: ReturnType<typeof setTimeout>;
  #watchdogAt = Infinity;

  constructor(options: { idleLimitMs?: number } = {}) {
    this.#idleLimitMs = options.idleLimitMs ?? IDLE_LIMIT_MS;
  }

  /**
   * GETs `url` (http: only). Headers are the caller's; Host, User-Agent and
   * Accept are added. The body is read into `into` when it is large enough.
   * Past `timeoutMs` the GET fails with HttpNetworkError("timed out after …");
   * when `signal` aborts, with its reason.
   */
  async get(
    url: URL,
    headers: Record<string, string>,
    maxBytes: number,
    signal?: AbortSignal,
    into?: BodyBuffer,
    timeoutMs = Infinity,
  ): Promise<Http1Answer> {
    const origin = url.host;
    if (this.#viaFetch.has(origin) || url.username || url.password) return "fallback";
    const request = encodeHead(requestHead(url, headers));
    if (signal?.aborted) throw signal.reason;
    const exchange: Exchange = { deadline: performance.now() + timeoutMs, cancelled: false };
    this.#track(exchange, signal);
    try {
      const reused = this.#takeIdle(origin);
      if (reused) {
        try {
          return await this.#exchange(origin, exchange, reused, request, maxBytes, into);
        } catch (error) {
          // The server gave up the idle connection meanwhile: not a failure of this request.
          if (!(error instanceof StaleConnection)) throw error;
        }
      }
      const fresh = await connect(url, exchange);
      return await this.#exchange(origin, exchange, fresh, request, maxBytes, into, true);
    } catch (error) {
      // What the closed socket says is not the reason: the signal's, or the deadline's, is.
      if (signal?.aborted) throw signal.reason;
      if (exchange.timedOut) throw new HttpNetworkError(`timed out after ${timeoutMs} ms`);
      throw error;
    } finally {
      this.#untrack(exchange, signal);
    }
  }

  close() {
    this.#closed = true;
    for (const list of this.#idle.values()) for (const connection of list) connection.close();
    this.#idle.clear();
    // The watchdog stays: GETs still under way keep their deadlines (it holds no process open).
  }

  /**
   * Puts a GET under its deadline and its caller's signal. One timer serves
   * every GET (it fires at the earliest deadline, then at the next one), and
   * a signal gets one listener however many GETs it covers: a timer, an
   * AbortController and listeners per GET cost more CPU than the rest of
   * the client (256 MiB from nginx: ~60 ms of 1 s).
   */
  #track(exchange: Exchange, signal: AbortSignal | undefined) {
    this.#active.add(exchange);
    if (signal) {
      let exchanges = this.#bySignal.get(signal);
      if (!exchanges) {
        const covered = exchanges = new Set();
        this.#bySignal.set(signal, covered);
        signal.addEventListener("abort", () => {
          for (const each of covered) cancel(each);
        }, { once: true });
      }
      exchanges.add(exchange);
    }
    if (exchange.deadline < this.#watchdogAt) this.#armWatchdog(exchange.deadline);
  }

  #untrack(exchange: Exchange, signal: AbortSignal | undefined) {
    this.#active.delete(exchange);
    if (signal) this.#bySignal.get(signal)?.delete(exchange);
  }

  #armWatchdog(at: number) {
    clearTimeout(this.#watchdog);
    this.#watchdogAt = at;
    if (!Number.isFinite(at)) {
      this.#watchdog = undefined;
      return;
    }
    // A longer wait would fire after 1 ms: the timer stops short and #lapse arms the rest.
    const wait = Math.min(Math.max(0, at - performance.now()), MAX_TIMER_MS);
    const timer = setTimeout(() => this.#lapse(), wait);
    // The GETs under way keep the process alive (their sockets), not their deadline.
    Deno.unrefTimer(timer);
    this.#watchdog = timer;
  }

  /** Ends the GETs past their deadline; the timer moves on to the next deadline. */
  #lapse() {
    this.#watchdog = undefined;
    const now = performance.now();
    let next = Infinity;
    for (const exchange of this.#active) {
      if (exchange.deadline <= now) {
        exchange.timedOut = true;
        cancel(exchange);
      } else if (exchange.deadline < next) next = exchange.deadline;
    }
    this.#armWatchdog(next);
  }

  #takeIdle(origin: string): Connection | undefined {
    const list = this.#idle.get(origin);
    const now = performance.now();
    for (let connection = list?.pop(); connection; connection = list!.pop()) {
      if (!connection.spoiled && now - connection.idleSince < this.#idleLimitMs) {
        connection.unpark();
        return connection;
      }
      connection.close();
    }
    return undefined;
  }

  #release(origin: string, connection: Connection) {
    const list = this.#idle.get(origin) ?? [];
    if (this.#closed || list.length >= MAX_IDLE) return connection.close();
    connection.start = connection.end = 0;
    connection.park();
    list.push(connection);
    this.#idle.set(origin, list);
  }

  async #exchange(
    origin: string,
    exchange: Exchange,
    connection: Connection,
    request: Uint8Array,
    maxBytes: number,
    into: BodyBuffer | undefined,
    fresh = false,
  ): Promise<Http1Answer> {
    // Closing the socket is what interrupts a pending read or write.
    exchange.cancel = () => connection.close();
    let reusable = false;
    try {
      if (exchange.cancelled) throw new HttpNetworkError("the request was ended");
      let head: Head;
      try {
        await writeAll(connection.conn, request);
        head = await readHead(connection);
      } catch (error) {
        if (!fresh && !exchange.cancelled && connection.start === 0 && connection.end === 0) {
          throw new StaleConnection();
        }
        throw error;
      }
      // A 408 on a reused connection is the server's idle timeout, sent before our request.
      if (head.status === 408 && !fresh) throw new StaleConnection();
      if (head.encoded || (head.status >= 300 && head.status < 400)) {
        this.#viaFetch.add(origin);
        return "fallback";
      }
      let body: Uint8Array;
      try {
        body = await readBody(connection, head, maxBytes, into);
      } catch (error) {
        // The bound is on what a success holds: an error page past it is still its status.
        if (!(error instanceof HttpBodyTooLarge) || isSuccess(head.status)) throw error;
        return { status: head.status, body: new Uint8Array() };
      }
      reusable = head.keepAlive && connection.start === connection.end;
      return { status: head.status, body };
    } finally {
      exchange.cancel = undefined;
      if (reusable && !exchange.cancelled) this.#release(origin, connection);
      else connection.close();
    }
  }
}

/** One GET under way: what its deadline or its caller's signal ends. */
interface Exchange {
  deadline: number;
  /** Ended by its deadline or its signal: its connection is not reused. */
  cancelled: boolean;
  timedOut?: boolean;
  /** Interrupts what the GET waits on now: its connect, or its connection. */
  cancel?: () => void;
}

function cancel(exchange: Exchange) {
  if (exchange.cancelled) return;
  exchange.cancelled = true;
  exchange.cancel?.();
}

/** A 2xx status: only then is the body what was asked for. */
export function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What fetch() lets through in a header value: Latin-1 without NUL, CR and LF. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function requestHead(url: URL, headers: Record<string, string>): string {
  // The request target as written, a bare "?" included; never the fragment.
  const rest = url.href.slice(url.origin.length);
  const hash = rest.indexOf("#");
  const target = hash >= 0 ? rest.slice(0, hash) : rest;
  let head = `GET ${target || "/"} HTTP/1.1\r\nhost: ${url.host}\r\n` +
    `user-agent: Deno/${Deno.version.deno}\r\naccept: */*\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === "host") continue;
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) {
      throw new HttpFinalError(
        `header ${JSON.stringify(name)} holds characters HTTP does not allow`,
      );
    }
    head += `${name}: ${value}\r\n`;
  }
  return head + "\r\n";
}

/** The head's bytes: Latin-1, as fetch() sends header values. */
function encodeHead(head: string): Uint8Array {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(head)) return encoder.encode(head);
  return Uint8Array.from(head, (char) => char.charCodeAt(0));
}

async function connect(url: URL, exchange: Exchange): Promise<Connection> {
  if (exchange.cancelled) throw new HttpNetworkError("the request was ended");
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  // Ending the exchange also ends a connect that would wait for the OS to give up.
  const connecting = new AbortController();
  exchange.cancel = () => connecting.abort();
  try {
    const conn = await Deno.connect({
      hostname,
      port: Number(url.port || 80),
      signal: connecting.signal,
    });
    conn.setNoDelay(true);
    return new Connection(conn);
  } finally {
    exchange.cancel = undefined;
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array) {
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
}

/** Reads the status line and headers; skips interim (1xx) answers. */
async function readHead(connection: Connection): Promise<Head> {
  for (;;) {
    // The head ends with an empty line: LF CR LF, or LF LF from servers that send bare LFs.
    let textEnd = -1;
    let bodyStart = -1;
    for (let scanned = connection.start; textEnd < 0;) {
      const buffer = connection.buffer;
      for (; scanned < connection.end; scanned++) {
        if (buffer[scanned] !== 10) continue;
        if (scanned + 1 >= connection.end) break;
        if (buffer[scanned + 1] === 10) {
          [textEnd, bodyStart] = [scanned, scanned + 2];
          break;
        }
        if (buffer[scanned + 1] !== 13) continue;
        if (scanned + 2 >= connection.end) break;
        if (buffer[scanned + 2] === 10) {
          [textEnd, bodyStart] = [scanned, scanned + 3];
          break;
        }
      }
      const size = (textEnd >= 0 ? textEnd : connection.end) - connection.start;
      if (size > MAX_HEAD) throw new ProtocolError(`the head exceeds ${MAX_HEAD} bytes`);
      if (textEnd >= 0) break;
      const offset = scanned - connection.start;
      if (!await connection.fill()) {
        throw new ProtocolError(
          connection.end === connection.start
            ? "the server closed the connection without answering"
            : "the connection closed before the answer's head ended",
        );
      }
      scanned = connection.start + offset;
    }
    const text = decoder.decode(connection.buffer.subarray(connection.start, textEnd));
    connection.start = bodyStart;
    const head = parseHead(text);
    if (head.status >= 100 && head.status < 200) continue;
    return head;
  }
}

/**
 * A head of the plain form servers send (HTTP/1.1, a reason phrase, token
 * names, printable ASCII values, CRLF line ends), tested in one pass. For such
 * a head, parseHead reads only the fields it acts on, instead of every line:
 * the whole parse cost about as much CPU as the rest of a chunk's GET.
 */
const PLAIN_HEAD =
  /^HTTP\/1\.1 (\d{3}) [\t\x20-\x7e]*\r(?:\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e]*\r)*$/;
/** In a plain head, the fields parseHead acts on. */
const PLAIN_FIELD =
  /\n(content-length|transfer-encoding|connection|content-encoding):([\t\x20-\x7e]*)\r/gi;

/** `text`: the status line and the header lines, without the empty line that ends them. */
export function parseHead(text: string): Head {
  const plain = PLAIN_HEAD.exec(text);
  if (!plain) return parseAnyHead(text);
  const head: Head = { status: Number(plain[1]), chunked: false, keepAlive: true, encoded: false };
  PLAIN_FIELD.lastIndex = 0;
  for (let field = PLAIN_FIELD.exec(text); field; field = PLAIN_FIELD.exec(text)) {
    applyField(head, field[1].toLowerCase(), field[2].trim());
  }
  return settleFraming(head);
}

/** Any head HTTP/1.x allows; exported for the tests, which hold it to parseHead's plain path. */
export function parseAnyHead(text: string): Head {
  const lines = text.split("\n").map((line) => line.endsWith("\r") ? line.slice(0, -1) : line);
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
    applyField(head, line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return settleFraming(head);
}

function applyField(head: Head, name: string, value: string) {
  const lower = value.toLowerCase();
  if (name === "content-length") {
    if (!/^\d+$/.test(value)) throw new ProtocolError(`content-length ${value}`);
    const length = Number(value);
    if (head.length !== undefined && head.length !== length) {
      throw new ProtocolError("two different content-length headers");
    }
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

function settleFraming(head: Head): Head {
  if (head.chunked && head.length !== undefined) {
    // Both framings at once (RFC 9112 6.3): chunked wins, and the connection is not trusted after.
    head.length = undefined;
    head.keepAlive = false;
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
    if (head.length > maxBytes) throw new HttpBodyTooLarge(maxBytes);
    const body = bodyTarget(head.length, maxBytes, into);
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
    const size = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(line);
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

/** The lent buffer, made whole again when a failed read took its memory. */
function lent(into: BodyBuffer | undefined, maxBytes: number): ArrayBuffer | undefined {
  if (!into) return undefined;
  if (into.buffer.detached) into.buffer = new ArrayBuffer(Math.min(maxBytes + 1, 16 << 20));
  return into.buffer;
}

/** Where a body of known length goes: the lent buffer when it fits, else its own. */
function bodyTarget(length: number, maxBytes: number, into: BodyBuffer | undefined): Uint8Array {
  const buffer = lent(into, maxBytes);
  return buffer && buffer.byteLength >= length
    ? new Uint8Array(buffer, 0, length)
    : new Uint8Array(length);
}

/** A body of unknown length, bounded by maxBytes. */
export class GrowingBody {
  #bytes: Uint8Array;
  #length = 0;

  constructor(readonly maxBytes: number, into?: BodyBuffer) {
    const buffer = lent(into, maxBytes);
    this.#bytes = buffer ? new Uint8Array(buffer) : new Uint8Array(Math.min(maxBytes, 64 << 10));
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
