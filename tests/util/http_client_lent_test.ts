/**
 * fetch() answers read into a lent buffer (what the codec workers' chunk GETs
 * do when plain http goes through fetch()): the declared length is the bound's
 * first check there too.
 */
import { assertRejects } from "../assert.ts";
import { HttpBodyTooLarge, HttpTransport } from "../../src/util/http_client.ts";
import { send, withRawServer } from "../fixtures/raw_http_server.ts";

Deno.test("http: a declared length past the bound is refused at once when reading into a lent buffer", async () => {
  await withRawServer(async (conn, _n, head) => {
    // A redirect hands the origin to fetch(), whatever the proxy settings.
    if (head.startsWith("GET /start ")) {
      await send(conn, "HTTP/1.1 307 Moved\r\nlocation: /big\r\ncontent-length: 0\r\n\r\n");
      return "keep";
    }
    // 16 MB declared, nothing sent: refused by the declared length, or the request times out.
    await send(conn, "HTTP/1.1 200 OK\r\ncontent-length: 16000000\r\n\r\n");
    return "keep";
  }, async ({ base }) => {
    const transport = new HttpTransport({ timeoutMs: 3000, errorRetry: 0, retryBaseMs: 1 });
    const into = { buffer: new ArrayBuffer((64 << 10) + 1) };
    try {
      await assertRejects(
        () => transport.request("GET", `${base}/start`, { maxBytes: 64 << 10, into }),
        HttpBodyTooLarge,
        "exceeds 65536 bytes",
      );
    } finally {
      transport.close();
    }
  });
});
