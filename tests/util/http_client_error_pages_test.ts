/**
 * An answer that is not a success is known by its status: a 404 or 500 page
 * larger than the bound on what a success may hold is still a 404 or 500 (a
 * chunk missing, to ask the next store for; a failure to retry), not a body
 * too large.
 */
import { assertEquals } from "../assert.ts";
import { HttpTransport } from "../../src/util/http_client.ts";
import { send, withRawServer } from "../fixtures/raw_http_server.ts";

const PAGE = `<html>${"x".repeat(100_000)}</html>`;
const LIMIT = 64 << 10;

async function errorPages(conn: Deno.Conn, _n: number, head: string) {
  const path = head.split(" ")[1];
  if (path.startsWith("/start/")) {
    // A redirect hands the origin to fetch(), whatever the proxy settings.
    await send(
      conn,
      `HTTP/1.1 307 Moved\r\nlocation: ${path.slice(6)}\r\ncontent-length: 0\r\n\r\n`,
    );
    return "keep" as const;
  }
  const status = path.includes("404") ? "404 Not Found" : "500 Oops";
  const framing = path.includes("chunked")
    ? `transfer-encoding: chunked\r\n\r\n${PAGE.length.toString(16)}\r\n${PAGE}\r\n0\r\n\r\n`
    : `content-length: ${PAGE.length}\r\n\r\n${PAGE}`;
  await send(conn, `HTTP/1.1 ${status}\r\ncontent-type: text/html\r\n${framing}`);
  return "keep" as const;
}

for (const [via, prefix] of [["http1 or fetch()", ""], ["fetch()", "/start"]]) {
  Deno.test(`http: a 404 or 500 page past the bound is its status, not a body too large (${via})`, async () => {
    await withRawServer(errorPages, async ({ base, stats }) => {
      const transport = new HttpTransport({ timeoutMs: 3000, errorRetry: 1, retryBaseMs: 1 });
      try {
        for (const framing of ["length", "chunked"]) {
          for (const into of [undefined, { buffer: new ArrayBuffer(LIMIT + 1) }]) {
            const init = { maxBytes: LIMIT, into };
            const missing = await transport.request("GET", `${base}${prefix}/404-${framing}`, init);
            assertEquals(missing.status, 404, `404 by ${framing}`);
            const before = stats.requests;
            const failed = await transport.request("GET", `${base}${prefix}/500-${framing}`, init);
            assertEquals(failed.status, 500, `500 by ${framing}`);
            const perAttempt = prefix ? 2 : 1;
            assertEquals(stats.requests - before, 2 * perAttempt, "the 500 was retried once");
          }
        }
      } finally {
        transport.close();
      }
    });
  });
}
