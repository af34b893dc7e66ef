/**
 * The plain-http GET client (src/util/http1.ts) at the edges where servers
 * differ: each case is what fetch() (hyper) does, checked by hand against Deno
 * 2.9.6's fetch with the same raw TCP server.
 */
import { assert, assertEquals } from "../assert.ts";
import { Http1Client } from "../../src/util/http1.ts";
import { HttpNetworkError, HttpTransport } from "../../src/util/http_client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a scripted connection does with request `n` (counted over all connections). */
type Script = (conn: Deno.Conn, n: number, head: string) => Promise<"keep" | "close">;

interface Scripted {
  base: string;
  stats: { connections: number; requests: number; raw: Uint8Array[] };
}

async function withRawServer(
  script: Script,
  fn: (server: Scripted) => Promise<void>,
  hostname = "127.0.0.1",
) {
  const listener = Deno.listen({ hostname, port: 0 });
  const stats = { connections: 0, requests: 0, raw: [] as Uint8Array[] };
  const open = new Set<Deno.Conn>();
  const serving = new Set<Promise<void>>();
  const serve = async (conn: Deno.Conn) => {
    let pending = "";
    const buffer = new Uint8Array(8192);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) return;
        stats.raw.push(buffer.slice(0, n));
        pending += decoder.decode(buffer.subarray(0, n));
        let end;
        while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
          const head = pending.slice(0, end);
          pending = pending.slice(end + 4);
          if (await script(conn, stats.requests++, head) === "close") return;
        }
      }
    } catch {
      // the client went away
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // closed at shutdown
      }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      stats.connections++;
      open.add(conn);
      const done = serve(conn);
      serving.add(done);
      done.finally(() => serving.delete(done));
    }
  })();
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  try {
    await fn({ base: `http://${host}:${(listener.addr as Deno.NetAddr).port}`, stats });
  } finally {
    listener.close();
    for (const conn of open) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    await accepting.catch(() => {});
    await Promise.allSettled([...serving]);
  }
}

async function send(conn: Deno.Conn, text: string | Uint8Array) {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function body(client: Http1Client, url: string, ms = 2000, headers = {}) {
  const answer = await client.get(new URL(url), headers, 1 << 20, AbortSignal.timeout(ms));
  assert(answer !== "fallback", "answered by http1");
  return { status: answer.status, text: decoder.decode(answer.body) };
}

Deno.test("http1: a chunk's CRLF split across two TCP reads is still framing, not an error", async () => {
  // fetch() reads this as "hello". http1.ts:370 calls readLine(0), and readLine throws
  // "a line in the body is too long" as soon as one byte ("\r") is buffered without its "\n".
  await withRawServer(async (conn) => {
    await send(conn, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r");
    await sleep(50);
    await send(conn, "\n0\r\n\r\n");
    return "keep";
  }, async ({ base }) => {
    const client = new Http1Client();
    try {
      assertEquals(await body(client, `${base}/split`), { status: 200, text: "hello" });
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: a 408 a server sent on an idle keep-alive connection is not the next request's answer", async () => {
  // Servers closing an idle connection may say "408 Request Timeout" first. fetch() discards
  // the idle connection and answers 200 from a new one; http1 hands the 408 to the next GET
  // (fetch_place reports "HTTP status 408", which is not retried).
  await withRawServer(async (conn, n) => {
    if (n === 0) {
      await send(conn, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      setTimeout(() => {
        send(conn, "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
          .then(() => conn.close()).catch(() => {});
      }, 30);
      return "keep";
    }
    await send(conn, "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nyes");
    return "keep";
  }, async ({ base }) => {
    const client = new Http1Client();
    try {
      assertEquals(await body(client, `${base}/a`), { status: 200, text: "ok" });
      await sleep(150);
      assertEquals(await body(client, `${base}/b`), { status: 200, text: "yes" });
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: bytes arriving on an idle connection after a complete body do not poison the next GET", async () => {
  // fetch() drops an idle connection that receives data and succeeds on a new one; http1
  // reuses it and parses "EXTRA…" as the next status line (ProtocolError; with -e 0 a failure).
  await withRawServer(async (conn, n) => {
    if (n === 0) {
      await send(conn, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      setTimeout(() => send(conn, "EXTRA").catch(() => {}), 30);
      return "keep";
    }
    await send(conn, "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nyes");
    return "keep";
  }, async ({ base }) => {
    const client = new Http1Client();
    try {
      assertEquals(await body(client, `${base}/a`), { status: 200, text: "ok" });
      await sleep(150);
      assertEquals(await body(client, `${base}/b`), { status: 200, text: "yes" });
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: a redirecting store does not cost a new TCP connection and an extra request per GET", async () => {
  // With fetch() alone, 5 redirected GETs use 1 connection and 10 requests. http1 learns from
  // the first 302 that the origin redirects (one request more) and leaves the rest to fetch().
  await withRawServer(async (conn, _n, head) => {
    if (head.startsWith("GET /r")) {
      await send(conn, "HTTP/1.1 302 Found\r\nlocation: /target\r\ncontent-length: 0\r\n\r\n");
    } else {
      await send(conn, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    }
    return "keep";
  }, async ({ base, stats }) => {
    const transport = new HttpTransport({ timeoutMs: 2000, errorRetry: 0, retryBaseMs: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const answer = await transport.request("GET", `${base}/r${i}`);
        assertEquals([answer.status, decoder.decode(answer.body)], [200, "ok"]);
      }
      assertEquals(stats.requests, 11, "requests the server saw");
      assert(stats.connections <= 2, `${stats.connections} connections for 5 GETs`);
    } finally {
      transport.close();
    }
  });
});

Deno.test("http1: heads ending lines with a bare LF are read, as fetch() does", async () => {
  // fetch() answers 200 "ok"; http1 waits for CRLFCRLF until the signal ends it.
  await withRawServer(async (conn) => {
    await send(conn, "HTTP/1.1 200 OK\ncontent-length: 2\n\nok");
    return "keep";
  }, async ({ base }) => {
    const client = new Http1Client();
    try {
      assertEquals(await body(client, `${base}/lf`, 1000), { status: 200, text: "ok" });
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: a chunk size with trailing whitespace is accepted, as fetch() does", async () => {
  await withRawServer(async (conn) => {
    await send(
      conn,
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
    );
    return "keep";
  }, async ({ base }) => {
    const client = new Http1Client();
    try {
      assertEquals(await body(client, `${base}/ws`), { status: 200, text: "hello" });
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: header values go on the wire as fetch() sends them (Latin-1 bytes; NUL refused)", async () => {
  // fetch() sends "café" as 63 61 66 E9 and refuses a NUL; http1 UTF-8-encodes (C3 A9) and
  // sends the NUL.
  await withRawServer(async (conn) => {
    await send(conn, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    return "keep";
  }, async ({ base, stats }) => {
    const client = new Http1Client();
    try {
      await body(client, `${base}/h`, 2000, { cookie: "caf\u00e9" });
      const raw = stats.raw.flatMap((part) => [...part]);
      const at = raw.findIndex((_, i) =>
        raw[i] === 0x66 && raw[i + 1] !== 0x3a && raw[i - 1] === 0x61
      );
      assertEquals(raw.slice(at, at + 2), [0x66, 0xe9], "café as Latin-1");
      let refused = false;
      try {
        await body(client, `${base}/h`, 2000, { cookie: "a\0b" });
      } catch (error) {
        refused = error instanceof HttpNetworkError || error instanceof TypeError;
      }
      assert(refused, "a NUL in a header value is refused");
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: a reused connection that got part of an answer is not retried with the request again", async () => {
  await withRawServer(async (conn, n) => {
    if (n === 0) {
      await send(conn, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      return "keep";
    }
    if (n === 1) {
      await send(conn, "HTTP/1.1 200 OK\r\ncontent-le");
      return "close";
    }
    await send(conn, "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nyes");
    return "keep";
  }, async ({ base, stats }) => {
    const client = new Http1Client();
    try {
      assertEquals(await body(client, `${base}/a`), { status: 200, text: "ok" });
      let failed = false;
      try {
        await body(client, `${base}/b`);
      } catch (error) {
        failed = error instanceof HttpNetworkError;
      }
      assert(failed, "a half answer is an error");
      assertEquals(stats.requests, 2, "the request was not sent again");
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: an IPv6 literal host connects and sends Host: [::1]:port", async () => {
  let canListen = true;
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
  } catch {
    canListen = false;
  }
  if (!canListen) return;
  let host = "";
  await withRawServer(async (conn, _n, head) => {
    host = /\r\nhost: ([^\r]*)/i.exec(head)?.[1] ?? "";
    await send(conn, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nv6");
    return "keep";
  }, async ({ base }) => {
    const client = new Http1Client();
    try {
      assertEquals(await body(client, `${base}/x?q=1%202`), { status: 200, text: "v6" });
      assertEquals(host, new URL(base).host);
    } finally {
      client.close();
    }
  }, "::1");
});
