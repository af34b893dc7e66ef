/**
 * Bodies fetch() decodes (Content-Encoding: gzip, sent by a server whatever we
 * asked): fetch() keeps the encoded Content-Length, and hands the decoded bytes
 * over in small views of larger buffers, so neither may size what is held.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../assert.ts";
import { HttpBodyTooLarge, HttpTransport } from "../../src/util/http_client.ts";
import { send, withRawServer } from "../fixtures/raw_http_server.ts";
import { FLAGS, runCli } from "../faults/harness.ts";

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return await new Response(stream).bytes();
}

Deno.test("http: a gzip body is cut off once its decoded bytes pass maxBytes, not read whole first", async () => {
  const zipped = await gzip(new Uint8Array(4 << 20));
  await withRawServer(async (conn) => {
    // Half of it is sent, then nothing: a client that reads it all before counting waits.
    await send(
      conn,
      `HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: ${zipped.length}\r\n\r\n`,
    );
    await send(conn, zipped.subarray(0, zipped.length >> 1));
    return "keep";
  }, async ({ base }) => {
    const transport = new HttpTransport({ timeoutMs: 3000, errorRetry: 0, retryBaseMs: 1 });
    try {
      await assertRejects(
        () => transport.request("GET", `${base}/bomb`, { maxBytes: 64 << 10 }),
        HttpBodyTooLarge,
        "exceeds 65536 bytes",
      );
    } finally {
      transport.close();
    }
  });
});

Deno.test("http: a gzip index of unknown length is held in about its decoded size", async () => {
  // 32 MiB of zeros in 4 KiB views of 64 KiB buffers: kept as they come, 512 MiB.
  const zipped = await gzip(new Uint8Array(32 << 20));
  await withRawServer(async (conn) => {
    await send(
      conn,
      "HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n" +
        `${zipped.length.toString(16)}\r\n`,
    );
    await send(conn, zipped);
    await send(conn, "\r\n0\r\n\r\n");
    return "keep";
  }, async ({ base }) => {
    const run = await runCli(["info", `${base}/zeros.caibx`], FLAGS.http);
    assertEquals(run.code, 1, run.stderr);
    assertMatch(run.stderr, /^desync: http:\/\/127\.0\.0\.1:\d+\/zeros\.caibx: /);
    if (run.peakMiB > 0) assert(run.peakMiB < 300, `peak memory ${run.peakMiB.toFixed(0)} MiB`);
  });
});
