/** Certificate files that are wrong in the ways users get them wrong, for the TLS tests. */
import { makeTestPki, type TestPki } from "./interop/peers.ts";
import { mustRun } from "./helpers.ts";

export interface BadTlsFiles extends TestPki {
  /** The server's key, encrypted with a passphrase. */
  encryptedKey: string;
  /** A file with no PEM block in it. */
  garbage: string;
  /** A CERTIFICATE block whose contents are no certificate. */
  brokenCert: string;
}

/** A throwaway PKI (see makeTestPki) and the bad files; needs openssl. */
export async function makeBadTlsFiles(dir: string): Promise<BadTlsFiles> {
  const pki = await makeTestPki(dir);
  const encryptedKey = `${dir}/encrypted.key`;
  await mustRun("openssl", [
    "pkey",
    "-in",
    pki.serverKey,
    "-aes256",
    "-passout",
    "pass:secret",
    "-out",
    encryptedKey,
  ]);
  const garbage = `${dir}/garbage.pem`;
  await Deno.writeTextFile(garbage, "not a certificate\n");
  const brokenCert = `${dir}/broken.pem`;
  await Deno.writeTextFile(
    brokenCert,
    "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
  );
  return { ...pki, encryptedKey, garbage, brokenCert };
}
