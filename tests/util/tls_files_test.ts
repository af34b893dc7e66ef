/** What keyPairProblem says of certificate and key files Deno's TLS would refuse. */
import { assertEquals, assertMatch } from "../assert.ts";
import { keyPairProblem } from "../../src/util/tls_files.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { makeTestPki, OPENSSL_MISSING, signWithTestCa } from "../interop/peers.ts";

Deno.test({
  name: "tls_files: a version 1 client certificate and a key of another certificate are named",
  ignore: Boolean(OPENSSL_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const pki = await makeTestPki(dir);
      const read = (path: string) => Deno.readTextFile(path);
      assertEquals(
        keyPairProblem(await read(pki.clientCert), await read(pki.clientKey)),
        undefined,
      );
      assertMatch(
        keyPairProblem(await read(pki.clientCert), await read(pki.serverKey)) ?? "",
        /the key does not belong to the certificate/,
      );
      // Signed without extensions, openssl makes an X.509 version 1 certificate.
      const v1 = `${dir}/v1.pem`;
      await signWithTestCa(dir, `${dir}/client.csr`, v1);
      const text = await new Deno.Command("openssl", {
        args: ["x509", "-in", v1, "-noout", "-text"],
        stdout: "piped",
      }).output();
      assertMatch(new TextDecoder().decode(text.stdout), /Version: 1 \(0x0\)/);
      assertMatch(keyPairProblem(await read(v1), await read(pki.clientKey)) ?? "", /version 1/);
    } finally {
      await removeDir(dir);
    }
  },
});
