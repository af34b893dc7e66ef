/**
 * HttpTransport refuses TLS files it could not use when it is made: a CA file
 * without a certificate (Deno's TLS skips it) and, with or without -t, a client
 * certificate and key that do not go together (node:https, used for -t, found
 * that only in each handshake, and the request was retried).
 */
import { assertEquals, assertMatch, assertThrows } from "../assert.ts";
import { HttpNetworkError, HttpTransport } from "../../src/util/http_client.ts";
import { tempDirTest } from "../helpers.ts";
import { OPENSSL_MISSING } from "../interop/peers.ts";
import { makeBadTlsFiles } from "../tls_bad_files.ts";

const BASE = { timeoutMs: 5_000, errorRetry: 3, retryBaseMs: 10 };

tempDirTest(
  "http: TLS files that cannot be used are refused when the client is made",
  async (dir) => {
    const files = await makeBadTlsFiles(dir);
    const read = (path: string) => Deno.readTextFile(path);
    const refused = (options: ConstructorParameters<typeof HttpTransport>[0], message: RegExp) => {
      const error = assertThrows(() => new HttpTransport(options), HttpNetworkError);
      assertMatch(error.message, message);
      assertEquals(error.message.includes("PRIVATE KEY"), false);
    };
    refused(
      { ...BASE, caCerts: [await read(files.garbage)] },
      /CA certificates: no PEM certificate/,
    );
    refused(
      { ...BASE, caCerts: [await read(files.serverKey)] },
      /CA certificates: no PEM certificate/,
    );
    refused(
      { ...BASE, caCerts: [await read(files.brokenCert)] },
      /certificate 1 of 1 does not parse/,
    );
    for (const insecure of [false, true]) {
      refused({
        ...BASE,
        insecure,
        clientCert: await read(files.clientCert),
        clientKey: await read(files.serverKey),
      }, /client certificate: the key does not belong to the certificate/);
      refused({
        ...BASE,
        insecure,
        clientCert: await read(files.serverCert),
        clientKey: await read(files.encryptedKey),
      }, /client certificate: the key is encrypted/);
      refused({
        ...BASE,
        insecure,
        clientCert: await read(files.garbage),
        clientKey: await read(files.clientKey),
      }, /client certificate: no PEM certificate/);
    }
    // Good files are taken, -t or not.
    for (const insecure of [false, true]) {
      new HttpTransport({
        ...BASE,
        insecure,
        caCerts: [await read(files.ca)],
        clientCert: await read(files.clientCert),
        clientKey: await read(files.clientKey),
      }).close();
    }
  },
  OPENSSL_MISSING,
);
