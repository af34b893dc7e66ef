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

Deno.test({
  name: "tls: a self-signed CA certificate serving as its own server certificate is explained",
  ignore: Boolean(OPENSSL_MISSING),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await tempDir(t);
    // openssl's default for req -x509 is CA:TRUE, which Go desync accepts and rustls refuses.
    const servers: Deno.HttpServer[] = [];
    try {
      const urls: string[] = [];
      for (
        const [name, extra] of [["ca", []], ["leaf", [
          "-addext",
          "basicConstraints=critical,CA:FALSE",
        ]]] as const
      ) {
        const made = await new Deno.Command("openssl", {
          args: [
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            `${dir}/${name}.key`,
            "-out",
            `${dir}/${name}.pem`,
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            ...extra,
          ],
          stderr: "null",
        }).output();
        assertEquals(made.code, 0);
        const server = Deno.serve({
          hostname: "127.0.0.1",
          port: 0,
          cert: await Deno.readTextFile(`${dir}/${name}.pem`),
          key: await Deno.readTextFile(`${dir}/${name}.key`),
          onListen() {},
        }, () => new Response("no such index", { status: 404 }));
        servers.push(server);
        urls.push(`https://127.0.0.1:${server.addr.port}/x.caibx`);
      }
      const asCa = await runCli(
        ["list-chunks", "-e", "0", "--ca-cert", `${dir}/ca.pem`, urls[0]],
        FLAGS,
      );
      assertEquals(asCa.code, 1);
      assertEquals(asCa.stderr.trim().split("\n").length, 1);
      assertMatch(asCa.stderr, /CA certificate .* basicConstraints=critical,CA:FALSE/);
      // The fix the message gives works: the same kind of certificate, marked CA:FALSE.
      const asLeaf = await runCli([
        "list-chunks",
        "-e",
        "0",
        "--ca-cert",
        `${dir}/leaf.pem`,
        urls[1],
      ], FLAGS);
      assertEquals(asLeaf.code, 1);
      assertMatch(asLeaf.stderr, /HTTP status 404/);
    } finally {
      await Promise.all(servers.map((server) => server.shutdown()));
      await removeDir(dir);
    }
  },
});
