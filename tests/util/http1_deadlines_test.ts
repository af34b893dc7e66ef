/**
 * The plain-http client's deadlines and signals, which it keeps itself (one
 * timer for all GETs, one listener per signal), and its head parser's plain
 * path held to the general one.
 */
import fc from "fast-check";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { Http1Client, parseAnyHead, parseHead } from "../../src/util/http1.ts";
import { HttpNetworkError } from "../../src/util/http_errors.ts";
import { send, withRawServer } from "../fixtures/raw_http_server.ts";

const decoder = new TextDecoder();

function ok(body: string) {
  return `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
}

/** Requests for /stall* get no answer; others get their path back. */
async function withStallingServer(fn: (base: string) => Promise<void>) {
  await withRawServer(async (conn, _n, head) => {
    const path = head.split(" ")[1];
    if (path.startsWith("/stall")) return "keep";
    await send(conn, ok(path));
    return "keep";
  }, ({ base }) => fn(base));
}

async function text(answer: Promise<unknown>): Promise<string> {
  const result = await answer as { status: number; body: Uint8Array };
  return decoder.decode(result.body);
}

Deno.test("http1: GETs with different deadlines at once each end at their own, the others unharmed", async () => {
  await withStallingServer(async (base) => {
    const client = new Http1Client();
    try {
      const started = performance.now();
      const ended: Record<string, number> = {};
      const stall = (name: string, ms: number) =>
        assertRejects(
          () => client.get(new URL(`${base}/stall-${name}`), {}, 1 << 20, undefined, undefined, ms),
          HttpNetworkError,
          `timed out after ${ms} ms`,
        ).then(() => ended[name] = performance.now() - started);
      // Started longest first: the later, shorter deadlines must still be kept.
      const long = stall("long", 900);
      const short = stall("short", 200);
      const middle = stall("middle", 500);
      const fine = text(
        client.get(new URL(`${base}/fine`), {}, 1 << 20, undefined, undefined, 300),
      );
      assertEquals(await fine, "/fine");
      await Promise.all([long, short, middle]);
      assert(ended.short >= 190 && ended.short < 600, `short ended at ${ended.short} ms`);
      assert(ended.middle >= 490 && ended.middle < 850, `middle ended at ${ended.middle} ms`);
      assert(ended.long >= 890 && ended.long < 1500, `long ended at ${ended.long} ms`);
      // After every deadline passed, new GETs get theirs: a fresh one times out, others answer.
      await assertRejects(
        () => client.get(new URL(`${base}/stall-again`), {}, 1 << 20, undefined, undefined, 150),
        HttpNetworkError,
        "timed out after 150 ms",
      );
      assertEquals(
        await text(client.get(new URL(`${base}/after`), {}, 1 << 20, undefined, undefined, 150)),
        "/after",
      );
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: one signal ends every GET it covers, at once, with its reason; a later signal still works", async () => {
  await withStallingServer(async (base) => {
    const client = new Http1Client();
    try {
      const first = new AbortController();
      const get = (path: string, signal: AbortSignal) =>
        // A deadline, so that a GET the signal fails to end fails the test instead of hanging it.
        client.get(new URL(`${base}${path}`), {}, 1 << 20, signal, undefined, 5_000);
      // The same signal over GETs one after another, then over two at once.
      assertEquals(await text(get("/a", first.signal)), "/a");
      assertEquals(await text(get("/b", first.signal)), "/b");
      const stalled = [get("/stall-1", first.signal), get("/stall-2", first.signal)];
      const other = new AbortController();
      const untouched = get("/stall-3", other.signal);
      const started = performance.now();
      setTimeout(() => first.abort(new Error("stopped by the test")), 100);
      for (const each of stalled) await assertRejects(() => each, Error, "stopped by the test");
      assert(performance.now() - started < 1000, "the abort ended them at once");
      // The other signal's GET is still waiting; its own abort ends it.
      other.abort(new Error("the second stop"));
      await assertRejects(() => untouched, Error, "the second stop");
      // An aborted signal refuses at once; a new one works on the same client.
      await assertRejects(() => get("/c", first.signal), Error, "stopped by the test");
      assertEquals(await text(get("/d", new AbortController().signal)), "/d");
    } finally {
      client.close();
    }
  });
});

Deno.test("http1: a deadline past the longest timer wait arms the watchdog a few times, not every millisecond", async () => {
  // A timer asked to wait past 2^31 - 1 ms fires after 1 ms (with a warning on stderr): the
  // watchdog must not re-arm itself in a loop while such a GET waits.
  await withStallingServer(async (base) => {
    const client = new Http1Client();
    const armed: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      armed.push(ms ?? 0);
      return realSetTimeout(fn, ms);
    }) as typeof setTimeout;
    try {
      const stop = new AbortController();
      const waiting = client.get(
        new URL(`${base}/stall`),
        {},
        1 << 20,
        stop.signal,
        undefined,
        2 ** 33,
      );
      await new Promise((resolve) => realSetTimeout(resolve, 300));
      stop.abort(new Error("stopped by the test"));
      await assertRejects(() => waiting, Error, "stopped by the test");
      assert(armed.length <= 3, `the watchdog was armed ${armed.length} times in 300 ms`);
      assert(armed.every((ms) => ms <= 2 ** 31 - 1), `asked to wait ${Math.max(...armed)} ms`);
    } finally {
      globalThis.setTimeout = realSetTimeout;
      client.close();
    }
  });
});

Deno.test("http1: a plain head is parsed as the general parser parses it", () => {
  const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
  const value = fc.stringMatching(/^[\t\x20-\x7e]{0,20}$/);
  const name = fc.oneof(
    token,
    fc.constantFrom(
      "Content-Length",
      "content-length",
      "CONTENT-LENGTH",
      "Transfer-Encoding",
      "Connection",
      "connection",
      "Content-Encoding",
      "content-lengthx",
      "xconnection",
    ),
  );
  const fieldValue = fc.oneof(
    value,
    fc.constantFrom(
      "65536",
      " 12 ",
      "12, 12",
      "-1",
      "chunked",
      "gzip, chunked",
      " close",
      "keep-alive",
      "Keep-Alive, Upgrade",
      "identity",
      "\t",
    ),
  );
  const field = fc.tuple(name, fc.constantFrom("", " ", "  ", "\t"), fieldValue);
  const head = fc.record({
    status: fc.constantFrom("200", "204", "404", "100", "301", "999"),
    reason: fc.constantFrom("OK", "", "Not Found", "Odd\tReason"),
    fields: fc.array(field, { maxLength: 8 }),
  });
  const outcome = (parse: () => unknown) => {
    try {
      return { head: parse() };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };
  let plainCount = 0;
  fc.assert(
    fc.property(head, ({ status, reason, fields }) => {
      const lines = [`HTTP/1.1 ${status} ${reason}`];
      for (const [n, blank, v] of fields) lines.push(`${n}:${blank}${v}`);
      // As readHead hands it over: the last line keeps its CR, the empty line is gone.
      const text = lines.join("\r\n") + "\r";
      if (!/[^\t\x20-\x7e\r\n]/.test(text)) plainCount++;
      assertEquals(outcome(() => parseHead(text)), outcome(() => parseAnyHead(text)));
    }),
    { numRuns: 3000 },
  );
  assert(plainCount > 2000, "most cases were plain heads");
  // What a typical nginx answer says.
  const nginx =
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 26 Nov 2026 21:00:00 GMT\r\n" +
    "Content-Type: application/octet-stream\r\nContent-Length: 65536\r\n" +
    "Last-Modified: Thu, 26 Nov 2026 01:41:00 GMT\r\nConnection: keep-alive\r\n" +
    'ETag: "6764f2cc-10000"\r\nAccept-Ranges: bytes\r';
  assertEquals(parseHead(nginx), {
    status: 200,
    length: 65536,
    chunked: false,
    keepAlive: true,
    encoded: false,
  });
  // Heads off the plain form still go through the general parser.
  assertEquals(parseHead("HTTP/1.0 200 OK\nContent-Length: 3").keepAlive, false);
  assertEquals(parseHead("HTTP/1.1 200\r\nContent-Length: 3\r").length, 3);
});
