/** The servers refuse certificate files they could not use when started, not per client. */
import { assertEquals, assertMatch, assertRejects } from "../assert.ts";
import { serverSettings } from "../../src/cli/server_options.ts";
import { UsageError } from "../../src/errors.ts";
import { tempDirTest } from "../helpers.ts";
import { OPENSSL_MISSING } from "../interop/peers.ts";
import { makeBadTlsFiles } from "../tls_bad_files.ts";

const listen = () => ({ hostname: "127.0.0.1", port: 0 });

tempDirTest("cli: a server's --cert and --key must go together and parse", async (dir) => {
  const files = await makeBadTlsFiles(dir);
  const settings = (cert: string, key: string, clientCa?: string) =>
    serverSettings({
      listen: ["127.0.0.1:0"],
      cert,
      key,
      ...(clientCa ? { mutualTls: true, clientCa } : {}),
    }, listen);
  const good = await settings(files.serverCert, files.serverKey, files.ca);
  assertEquals(good.tls?.cert, await Deno.readTextFile(files.serverCert));
  const refused = async (message: RegExp, cert: string, key: string, clientCa?: string) => {
    const error = await assertRejects(() => settings(cert, key, clientCa), UsageError);
    assertMatch(error.message, message);
    // The key's contents are never repeated.
    assertEquals(error.message.includes("PRIVATE KEY"), false);
  };
  const pair = (cert: string, key: string) => `^--cert ${cert} --key ${key}: `;
  await refused(
    new RegExp(`${pair(files.serverCert, files.clientKey)}the key does not belong`),
    files.serverCert,
    files.clientKey,
  );
  await refused(
    new RegExp(`${pair(files.serverCert, files.encryptedKey)}.*encrypted key`),
    files.serverCert,
    files.encryptedKey,
  );
  await refused(
    new RegExp(`${pair(files.garbage, files.serverKey)}no PEM certificate`),
    files.garbage,
    files.serverKey,
  );
  await refused(
    new RegExp(`${pair(files.brokenCert, files.serverKey)}the certificate does not parse`),
    files.brokenCert,
    files.serverKey,
  );
  await refused(
    new RegExp(`${pair(files.serverKey, files.serverCert)}no PEM certificate`),
    files.serverKey,
    files.serverCert,
  );
  await refused(
    new RegExp(`^--client-ca ${files.garbage}: no PEM certificate in it$`),
    files.serverCert,
    files.serverKey,
    files.garbage,
  );
  await refused(
    new RegExp(`^--client-ca ${files.brokenCert}: certificate 1 of 1 does not parse$`),
    files.serverCert,
    files.serverKey,
    files.brokenCert,
  );
}, OPENSSL_MISSING);
