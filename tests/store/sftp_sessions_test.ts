/**
 * SftpSessions against plain TCP servers that are no SSH server: how often a
 * connection is tried, and what the caller is told. No sshd needed.
 */
import { assertEquals, assertRejects } from "../assert.ts";
import { StoreError } from "../../src/errors.ts";
import { SftpSessions } from "../../src/store/sftp.ts";
import { DEFAULT_HTTP_OPTIONS } from "../../src/util/http_client.ts";

/** A TCP server that counts connections and closes each one at once. */
function slammingServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const loop = (async () => {
    for await (const conn of listener) {
      accepted++;
      conn.close();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get accepted() {
      return accepted;
    },
    async stop() {
      listener.close();
      await loop.catch(() => {});
    },
  };
}

Deno.test("sftp sessions: a connection that fails is tried again, once per retry (-e)", async () => {
  const server = slammingServer();
  try {
    const errorRetry = 2;
    const sessions = new SftpSessions(
      "sftp://u@127.0.0.1/store",
      { host: "127.0.0.1", port: server.port, user: "u", path: "/store" },
      {
        identityFiles: [],
        agentSocket: "/nonexistent/agent.sock",
        knownHostsFiles: [],
        acceptUnknownHostKeys: false,
        concurrency: 1,
      },
      { http: { ...DEFAULT_HTTP_OPTIONS, errorRetry, retryBaseMs: 1 }, uncompressed: false },
    );
    await assertRejects(
      () => sessions.run("reading chunk x", () => Promise.resolve()),
      StoreError,
      "reading chunk x",
    );
    assertEquals(server.accepted, errorRetry + 1);
    await sessions.close();
  } finally {
    await server.stop();
  }
});
