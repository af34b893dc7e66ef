/** HTTPS stores against nginx with a throwaway CA: --ca-cert, -t, and mutual TLS. */
import { assertEquals, assertMatch } from "../assert.ts";
import { removeDir, runCli, sha256sum, tempDir } from "../helpers.ts";
import { CASYNC_MISSING, casyncMake } from "./casync_fixture.ts";
import { makeTestPki, NGINX_MISSING, OPENSSL_MISSING, startNginx } from "./peers.ts";

const FLAGS = ["--allow-read", "--allow-write", "--allow-net=127.0.0.1"];

Deno.test({
  name: "tls: --ca-cert and -t reach an HTTPS store; mutual TLS needs the client certificate",
  ignore: Boolean(NGINX_MISSING || OPENSSL_MISSING || CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const pki = await makeTestPki(dir);
      const fixture = await casyncMake(dir, { name: "tls", size: 1 << 20, kind: "random" });
      const want = await sha256sum(fixture.blob);
      const extract = (url: string, ...extra: string[]) =>
        runCli([
          ...extra,
          "extract",
          // Each run must fetch: the previous run's output is not to be used as a seed.
          "--no-seed-output",
          "-e",
          "0",
          "-s",
          `${url}/tls.store`,
          fixture.index,
          `${dir}/out`,
        ], FLAGS);

      const https = await startNginx(dir, { cert: pki.serverCert, key: pki.serverKey });
      try {
        const untrusted = await extract(https.url);
        assertEquals(untrusted.code, 1);
        assertEquals(untrusted.stderr.trim().split("\n").length, 1);
        assertMatch(untrusted.stderr, /store https:\/\/127\.0\.0\.1:\d+\/tls\.store: GET chunk/);
        const trusted = await extract(https.url, "--ca-cert", pki.ca);
        assertEquals(trusted.code, 0, trusted.stderr);
        assertEquals(await sha256sum(`${dir}/out`), want);
        const insecure = await extract(https.url, "-t");
        assertEquals(insecure.code, 0, insecure.stderr);
      } finally {
        await https.stop();
      }

      const mutual = await startNginx(dir, {
        cert: pki.serverCert,
        key: pki.serverKey,
        clientCa: pki.ca,
      });
      try {
        const anonymous = await extract(mutual.url, "--ca-cert", pki.ca);
        assertEquals(anonymous.code, 1);
        assertMatch(anonymous.stderr, /HTTP status 400/);
        const half = await extract(mutual.url, "--client-cert", pki.clientCert);
        assertEquals(half.code, 2);
        const known = await extract(
          mutual.url,
          "--ca-cert",
          pki.ca,
          "--client-cert",
          pki.clientCert,
          "--client-key",
          pki.clientKey,
        );
        assertEquals(known.code, 0, known.stderr);
        assertEquals(await sha256sum(`${dir}/out`), want);
      } finally {
        await mutual.stop();
      }
    } finally {
      await removeDir(dir);
    }
  },
});
