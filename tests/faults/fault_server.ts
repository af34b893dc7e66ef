/**
 * A fault-injecting HTTP/1.1 server on raw TCP, so that it can do what a
 * well-behaved server library would not: cut a body short, reset a
 * connection, stall, or stream more than it declared. It serves (and accepts
 * PUTs into) a directory; `decide` picks the fault for each request.
 */

export type Fault =
  /** Serve the file (GET/HEAD) or store the body (PUT). */
  | { kind: "ok" }
  | { kind: "status"; status: number }
  /** Close the connection without answering. */
  | { kind: "reset" }
  /** Declare the whole body, send only `bytes` of it, close. */
  | { kind: "truncate"; bytes: number }
  /** Accept the request and never answer. */
  | { kind: "stall" }
  /** Stream `bytes` bytes of body with no declared length (or until the client gives up). */
  | { kind: "oversize"; bytes: number }
  /** Declare a body of `length` bytes and send none. */
  | { kind: "declare"; length: number }
  /** Serve this body instead of the file. */
  | { kind: "body"; body: Uint8Array }
  /** Serve normally after a pause. */
  | { kind: "slow"; ms: number };

export interface FaultRequest {
  method: string;
  path: string;
  /** How many requests this server had seen before this one. */
  n: number;
  /** The request's Accept-Encoding, if any (fetch() sends one; the plain-http client does not). */
  acceptEncoding?: string;
}

export interface FaultServer {
  /** http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  requests: FaultRequest[];
  /** Body bytes written to clients so far. */
  bytesSent(): number;
  close(): Promise<void>;
}

const encoder = new TextEncoder();

export function startFaultServer(
  root: string,
  decide: (request: FaultRequest) => Fault = () => ({ kind: "ok" }),
): FaultServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const handlers = new Set<Promise<void>>();
  const requests: FaultRequest[] = [];
  let sent = 0;
  let closing = false;

  async function writeAll(conn: Deno.Conn, bytes: Uint8Array, body = true) {
    let done = 0;
    while (done < bytes.length) {
      const n = await conn.write(bytes.subarray(done));
      done += n;
      if (body) sent += n;
    }
  }

  async function head(conn: Deno.Conn, status: number, headers: Record<string, string | number>) {
    const lines = [`HTTP/1.1 ${status} X`, "Connection: close"];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    await writeAll(conn, encoder.encode(lines.join("\r\n") + "\r\n\r\n"), false);
  }

  async function serve(conn: Deno.Conn) {
    const { method, path, body, acceptEncoding } = await readRequest(conn);
    const request = { method, path, n: requests.length, acceptEncoding };
    requests.push(request);
    const fault = decide(request);
    const file = `${root}${decodeURIComponent(path)}`;
    switch (fault.kind) {
      case "reset":
        return;
      case "stall":
        await new Promise<void>((resolve) => {
          const timer = setInterval(() => closing && (clearInterval(timer), resolve()), 50);
        });
        return;
      case "status":
        return await head(conn, fault.status, { "Content-Length": 0 });
      case "declare":
        return await head(conn, 200, { "Content-Length": fault.length });
      case "oversize": {
        await head(conn, 200, {});
        const piece = new Uint8Array(64 << 10).fill(0x5a);
        for (let done = 0; done < fault.bytes && !closing; done += piece.length) {
          await writeAll(conn, piece);
        }
        return;
      }
      case "slow":
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        break;
      case "body":
        await head(conn, 200, { "Content-Length": fault.body.length });
        return await writeAll(conn, fault.body);
    }
    if (method === "PUT") {
      await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
      await Deno.writeFile(file, body);
      return await head(conn, 201, { "Content-Length": 0 });
    }
    let data: Uint8Array;
    try {
      data = await Deno.readFile(file);
    } catch {
      return await head(conn, 404, { "Content-Length": 0 });
    }
    await head(conn, 200, { "Content-Length": data.length });
    if (method === "HEAD") return;
    if (fault.kind === "truncate") return await writeAll(conn, data.subarray(0, fault.bytes));
    await writeAll(conn, data);
  }

  (async () => {
    for await (const conn of listener) {
      open.add(conn);
      const handler: Promise<void> = serve(conn)
        .catch(() => {}) // the client went away: that is its business
        .finally(() => {
          open.delete(conn);
          handlers.delete(handler);
          try {
            conn.close();
          } catch {
            // already closed
          }
        });
      handlers.add(handler);
    }
  })().catch(() => {});

  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    requests,
    bytesSent: () => sent,
    async close() {
      closing = true;
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      await Promise.allSettled([...handlers]);
    },
  };
}

/** Reads one request: the request line, headers, and a body of Content-Length bytes. */
async function readRequest(conn: Deno.Conn) {
  let buffer: Uint8Array = new Uint8Array(0);
  const chunk = new Uint8Array(64 << 10);
  let headerEnd = -1;
  while (headerEnd < 0) {
    const n = await conn.read(chunk);
    if (n === null) throw new Error("connection closed before the request ended");
    buffer = concat(buffer, chunk.subarray(0, n));
    headerEnd = indexOfCrlfCrlf(buffer);
  }
  const text = new TextDecoder().decode(buffer.subarray(0, headerEnd));
  const [requestLine, ...headerLines] = text.split("\r\n");
  const [method, target] = requestLine.split(" ");
  const lengthLine = headerLines.find((line) => /^content-length:/i.test(line));
  const length = lengthLine ? Number(lengthLine.split(":")[1]) : 0;
  const encodingLine = headerLines.find((line) => /^accept-encoding:/i.test(line));
  const acceptEncoding = encodingLine?.slice(encodingLine.indexOf(":") + 1).trim();
  let body: Uint8Array = buffer.subarray(headerEnd + 4);
  while (body.length < length) {
    const n = await conn.read(chunk);
    if (n === null) break;
    body = concat(body, chunk.subarray(0, n));
  }
  return { method, path: new URL(target, "http://x").pathname, body, acceptEncoding };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

function indexOfCrlfCrlf(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}
