/**
 * The plain-http GET client (src/util/http1.ts) at the edges where servers
 * differ: each case is what fetch() (hyper) does, checked by hand against Deno
 * 2.9.6's fetch with the same raw TCP server.
 */
import { assert, assertEquals } from "../assert.ts";
import { Http1Client } from "../../src/util/http1.ts";
import { HttpNetworkError, HttpTransport } from "../../src/util/http_client.ts";
import { send, withRawServer } from "../fixtures/raw_http_server.ts";

const decoder = new TextDecoder();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function body(client: Http1Client, url: string, ms = 2000, headers = {}) {
  const answer = await client.get(new URL(url), headers, 1 << 20, AbortSignal.timeout(ms));
  assert(answer !== "fallback", "answered by http1");
  return { status: answer.status, text: decoder.decode(answer.body) };
}

Deno.test("http1: a chunk's CRLF split across two TCP reads is still framing, not an error", async () => {
  // fetch() reads this as "hello": the CRLF after a chunk may come in two reads.
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

Deno.test("http1: what a server sends on an idle keep-alive connection is not the next request's answer", async () => {
  // Servers closing an idle connection may say "408 Request Timeout" first; a broken one may
  // send stray bytes. fetch() drops such a connection and answers from a new one; so does http1.
  for (
    const afterwards of [
      "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
      "EXTRA",
    ]
  ) {
    await withRawServer(async (conn, n) => {
      if (n > 0) {
        await send(conn, "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nyes");
        return "keep";
      }
      await send(conn, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      setTimeout(() => send(conn, afterwards).catch(() => {}), 30);
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
  }
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
  // fetch() answers 200 "ok" to a head whose lines end with LF alone.
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
  // fetch() sends "café" as 63 61 66 E9 (not UTF-8's C3 A9) and refuses a NUL.
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
