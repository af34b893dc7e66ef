/**
 * The plain-http GET client: against Deno.serve (an independent HTTP/1.1
 * server) for the framings it produces, and against a scripted TCP server for
 * what servers do at the edges (closing idle connections, lying lengths,
 * interim answers, stalls).
 */
import { assert, assertBytesEqual, assertEquals, assertRejects } from "../assert.ts";
import { Http1Client } from "../../src/util/http1.ts";
import { send, withRawServer } from "../fixtures/raw_http_server.ts";
import {
  HttpBodyTooLarge,
  HttpFinalError,
  HttpNetworkError,
  HttpTransport,
} from "../../src/util/http_client.ts";

const decoder = new TextDecoder();

function bytesOf(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 131 + seed * 7 + (i >> 8)) & 0xff;
  return bytes;
}

function signal(ms = 5000) {
  return AbortSignal.timeout(ms);
}

async function withDenoServer(
  handler: (request: Request) => Response,
  fn: (base: string) => Promise<void>,
) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

type Reply = string | "close" | "stall" | { send: string; thenClose: true };

/**
 * The raw test server with a reply per request head: `answer(n, head)` (n
 * counts requests over all connections); "close" closes the connection,
 * "stall" sends nothing more, `thenClose` closes it after sending.
 */
async function withScriptedServer(
  answer: (n: number, head: string) => Reply,
  fn: (base: string, stats: { connections: number; requests: number }) => Promise<void>,
) {
  await withRawServer(async (conn, n, head) => {
    const reply = answer(n, head);
    if (reply === "close") return "close";
    if (reply === "stall") return "keep";
    await send(conn, typeof reply === "string" ? reply : reply.send);
    return typeof reply === "string" ? "keep" : "close";
  }, ({ base, stats }) => fn(base, stats));
}

function ok(body: string, extra = "") {
  return `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`;
}

Deno.test("http1: bodies by length and chunked from Deno.serve arrive byte for byte", async () => {
  const fixed = bytesOf(200_000, 1);
  const streamed = bytesOf(150_001, 2);
  const seen: string[] = [];
  await withDenoServer((request) => {
    seen.push(`${request.headers.get("authorization")} ${request.headers.get("host")}`);
    if (new URL(request.url).pathname === "/fixed") return new Response(fixed);
    if (new URL(request.url).pathname === "/missing") return new Response("no", { status: 404 });
    // A stream of unknown length goes out chunked.
    let sent = 0;
    return new Response(
      new ReadableStream({
        pull(controller) {
          const part = streamed.subarray(sent, sent + 7000);
          sent += part.length;
          if (part.length) controller.enqueue(part.slice());
          else controller.close();
        },
      }),
    );
  }, async (base) => {
    const client = new Http1Client();
    try {
      const headers = { authorization: "Bearer x" };
      const first = await client.get(new URL(`${base}/fixed`), headers, 1 << 20, signal());
      assert(first !== "fallback");
      assertEquals(first.status, 200);
      assertBytesEqual(first.body, fixed);
      const second = await client.get(new URL(`${base}/chunked`), headers, 1 << 20, signal());
      assert(second !== "fallback");
      assertBytesEqual(second.body, streamed);
      const missing = await client.get(new URL(`${base}/missing`), {}, 1 << 20, signal());
      assert(missing !== "fallback");
      assertEquals([missing.status, decoder.decode(missing.body)], [404, "no"]);
      const host = new URL(base).host;
      assertEquals(seen.slice(0, 2), [`Bearer x ${host}`, `Bearer x ${host}`]);
      // A chunked body larger than allowed stops at the bound.
      await assertRejects(
        () => client.get(new URL(`${base}/chunked`), {}, 100_000, signal()),
        HttpBodyTooLarge,
      );
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: keep-alive reuses one connection; a lent buffer receives the body", async () => {
  await withScriptedServer(() => ok("hello"), async (base, stats) => {
    const client = new Http1Client();
    try {
      const into = { buffer: new ArrayBuffer(100) };
      for (let i = 0; i < 5; i++) {
        const answer = await client.get(new URL(`${base}/a`), {}, 99, signal(), into);
        assert(answer !== "fallback");
        assertEquals(decoder.decode(answer.body), "hello");
        assert(answer.body.buffer === into.buffer, "read into the lent buffer");
      }
      assertEquals([stats.connections, stats.requests], [1, 5]);
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: a connection idle past the limit is not reused", async () => {
  await withScriptedServer(() => ok("x"), async (base, stats) => {
    const client = new Http1Client({ idleLimitMs: 50 });
    try {
      await client.get(new URL(`${base}/a`), {}, 1000, signal());
      await client.get(new URL(`${base}/b`), {}, 1000, signal());
      assertEquals(stats.connections, 1, "reused within the limit");
      await new Promise((resolve) => setTimeout(resolve, 120));
      await client.get(new URL(`${base}/c`), {}, 1000, signal());
      assertEquals(stats.connections, 2, "replaced after it");
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: an idle connection the server closed is replaced; Connection: close is obeyed", async () => {
  // Request 0 is answered, then the server closes that connection (as idle timeouts do).
  let closeNext = false;
  await withScriptedServer((n) => {
    if (closeNext) {
      closeNext = false;
      return "close";
    }
    if (n === 0) closeNext = true;
    if (n === 2) return ok("bye", "connection: close\r\n");
    return ok(`r${n}`);
  }, async (base, stats) => {
    const client = new Http1Client();
    try {
      const bodies = [];
      for (let i = 0; i < 4; i++) {
        const answer = await client.get(new URL(`${base}/x`), {}, 1000, signal());
        assert(answer !== "fallback");
        bodies.push(decoder.decode(answer.body));
      }
      // Request 1 met the closed connection (no answer); it went again on a new one.
      assertEquals(bodies, ["r0", "bye", "r3", "r4"]);
      assertEquals(stats.connections, 3);
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: interim answers are skipped; close-delimited bodies end with the connection", async () => {
  await withScriptedServer((n) => {
    if (n === 0) return "HTTP/1.1 100 Continue\r\n\r\n" + ok("after");
    if (n === 1) return { send: "HTTP/1.0 200 OK\r\n\r\nuntil the end", thenClose: true };
    return ok("next");
  }, async (base, stats) => {
    const client = new Http1Client();
    try {
      const bodies = [];
      for (const path of ["/a", "/b", "/c"]) {
        const answer = await client.get(new URL(`${base}${path}`), {}, 1000, signal());
        assert(answer !== "fallback");
        bodies.push(decoder.decode(answer.body));
      }
      assertEquals(bodies, ["after", "until the end", "next"]);
      assertEquals(stats.connections, 2, "a close-delimited answer's connection is not reused");
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: lying lengths, broken heads and truncated bodies are errors, never short bodies", async () => {
  const cases: [string, string, string][] = [
    ["/big", "HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n", "exceeds 1000 bytes"],
    ["/status", "SPDY/9 200 OK\r\n\r\n", "status line"],
    ["/header", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "header line"],
    ["/length", "HTTP/1.1 200 OK\r\ncontent-length: 12x\r\n\r\n", "content-length"],
    [
      "/two",
      "HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab",
      "two different",
    ],
    ["/chunk", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", "chunk size line"],
  ];
  for (const [path, reply, message] of cases) {
    await withScriptedServer(() => reply, async (base) => {
      const client = new Http1Client();
      try {
        await assertRejects(
          () => client.get(new URL(`${base}${path}`), {}, 1000, signal()),
          HttpNetworkError,
          message,
        );
      } finally {
        client.close();
      }
    });
  }
  // Half a body, then the connection ends.
  await withScriptedServer(
    () => ({ send: "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf", thenClose: true }),
    async (base) => {
      const client = new Http1Client();
      try {
        await assertRejects(
          () => client.get(new URL(`${base}/t`), {}, 1000, signal()),
          HttpNetworkError,
          "closed in the middle of a body",
        );
      } finally {
        client.close();
      }
    },
  );
  // A head larger than 64 KiB is refused.
  await withScriptedServer(
    () => `HTTP/1.1 200 OK\r\nx-filler: ${"y".repeat(70_000)}\r\n\r\n`,
    async (base) => {
      const client = new Http1Client();
      try {
        await assertRejects(
          () => client.get(new URL(`${base}/h`), {}, 1000, signal()),
          HttpNetworkError,
          "head exceeds",
        );
      } finally {
        client.close();
      }
    },
  );
});

Deno.test("http1: an origin that redirects or encodes bodies is left to fetch from then on", async () => {
  for (
    const reply of [
      "HTTP/1.1 302 Found\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n",
      ok("zz", "content-encoding: gzip\r\n"),
    ]
  ) {
    await withScriptedServer(() => reply, async (base, stats) => {
      const client = new Http1Client();
      try {
        assertEquals(await client.get(new URL(`${base}/r`), {}, 1000, signal()), "fallback");
        assertEquals(await client.get(new URL(`${base}/s`), {}, 1000, signal()), "fallback");
        assertEquals(stats.requests, 1, "the second GET was not sent by this client");
      } finally {
        client.close();
      }
    });
  }
});

Deno.test("http1: header names and values HTTP does not allow are refused, not retried", async () => {
  await withScriptedServer(() => ok("fine"), async (base, stats) => {
    const client = new Http1Client();
    try {
      const refused: Record<string, string>[] = [
        { cookie: "a\r\nx-evil: 1" },
        { cookie: "a\0b" },
        { "bad name": "x" },
      ];
      for (const headers of refused) {
        await assertRejects(
          () => client.get(new URL(`${base}/x`), headers, 1000, signal()),
          HttpFinalError,
          "characters HTTP does not allow",
        );
      }
      assertEquals(stats.requests, 0);
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: through HttpTransport, a stalled answer times out and an abort ends it at once", async () => {
  await withScriptedServer((n) => (n < 2 ? "stall" : ok("late")), async (base) => {
    const transport = new HttpTransport({ timeoutMs: 300, errorRetry: 0, retryBaseMs: 1 });
    try {
      const started = performance.now();
      await assertRejects(
        () => transport.request("GET", `${base}/slow`),
        HttpNetworkError,
        "timed out after 300 ms",
      );
      assert(performance.now() - started < 3000, "the timeout ended the request");
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error("stopped by the test")), 100);
      await assertRejects(
        () => transport.request("GET", `${base}/slow`, { signal: controller.signal }),
        Error,
        "stopped by the test",
      );
      const answer = await transport.request("GET", `${base}/fine`);
      assertEquals(decoder.decode(answer.body), "late");
    } finally {
      transport.close();
    }
  });
});
