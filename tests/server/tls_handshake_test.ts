/** Our TLS listener against clients that stall in the handshake or do not speak TLS. */
import { assertEquals } from "../assert.ts";
import { startHttpServer } from "../../src/server/http_server.ts";
import { tempDirTest } from "../helpers.ts";
import { makeTestPki, OPENSSL_MISSING } from "../interop/peers.ts";

/** Waits until the server closes the connection, up to `limitMs`; true when it did. */
async function closedWithin(conn: Deno.TcpConn, limitMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const buffer = new Uint8Array(1024);
  const closed = (async () => {
    // A TLS alert may come before the close.
    while ((await conn.read(buffer).catch(() => null)) !== null) { /* read on */ }
    return true;
  })();
  const late = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), limitMs));
  try {
    return await Promise.race([closed, late]);
  } finally {
    clearTimeout(timer);
    conn.close();
    await closed.catch(() => {});
  }
}

tempDirTest(
  "server: a TLS handshake that stalls is closed after the client timeout, others are served",
  async (dir) => {
    const pki = await makeTestPki(dir);
    const server = await startHttpServer(
      [{ hostname: "127.0.0.1", port: 0 }],
      (_request, response) => response.end("served"),
      {
        tls: {
          cert: await Deno.readTextFile(pki.serverCert),
          key: await Deno.readTextFile(pki.serverKey),
        },
        limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 },
      },
    );
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(pki.ca)] });
    try {
      const port = Number(new URL(server.urls[0]).port);
      const silent = await Deno.connect({ hostname: "127.0.0.1", port });
      const partial = await Deno.connect({ hostname: "127.0.0.1", port });
      // The first bytes of a ClientHello, then nothing.
      await partial.write(new Uint8Array([0x16, 3, 1, 0, 200, 1, 0]));
      // Node's own default would hold them 120 s; the limit given is 0.3 s (the bound is loose
      // for two busy cores).
      const [silentClosed, partialClosed] = await Promise.all([
        closedWithin(silent, 10_000),
        closedWithin(partial, 10_000),
      ]);
      assertEquals([silentClosed, partialClosed], [true, true]);
      const response = await fetch(server.urls[0], { client });
      assertEquals(await response.text(), "served");
    } finally {
      client.close();
      await server.close();
    }
  },
  OPENSSL_MISSING,
);
