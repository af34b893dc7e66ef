/**
 * Checks of PEM certificates and keys before they are used, so that a wrong
 * file is reported when it is given rather than as a failed handshake later:
 * Deno's TLS silently skips a CA file without a certificate, and node:https
 * servers and agents parse their certificate and key only per connection.
 */
import { nodeCrypto } from "./node_builtins.ts";

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g;

/** Why a PEM text is no usable list of certificates, or undefined when it is one. */
export function certificatesProblem(pem: string): string | undefined {
  const blocks = pem.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) return "no PEM certificate in it";
  const { X509Certificate } = nodeCrypto();
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return `certificate ${i + 1} of ${blocks.length} does not parse`;
    }
  }
  return undefined;
}

/** Why Deno's TLS refuses this certificate (chain) and key, or undefined when it takes them. */
export function keyPairProblem(cert: string, key: string): string | undefined {
  try {
    // The same parsing and key check rustls does for a server's or a client's certificate.
    Deno.createHttpClient({ cert, key }).close();
    return undefined;
  } catch (error) {
    return describeKeyPairError((error as Error).message, key);
  }
}

function describeKeyPairError(message: string, key: string): string {
  if (message.includes("KeyMismatch")) return "the key does not belong to the certificate";
  // Both PKCS#8's "ENCRYPTED PRIVATE KEY" and OpenSSL's older "Proc-Type: 4,ENCRYPTED".
  if (/^-----BEGIN ENCRYPTED|^Proc-Type: 4,ENCRYPTED/m.test(key)) {
    return "the key is encrypted, and only unencrypted keys are read " +
      "(`openssl pkey -in KEY -out PLAIN_KEY` decrypts it)";
  }
  if (message.includes("Unable to decode key")) return "the key does not parse";
  if (message.includes("No keys found")) return "no PEM private key in the key file";
  if (message.includes("No certificates found")) {
    return "no PEM certificate in the certificate file";
  }
  if (message.includes("BadEncoding")) return "the certificate does not parse";
  if (message.includes("UnsupportedCertVersion")) {
    return "the certificate is X.509 version 1, which Deno's TLS refuses: have it signed with " +
      "version 3 extensions (`openssl x509 -req … -extfile FILE`, FILE holding for example " +
      "`extendedKeyUsage=clientAuth`)";
  }
  return message;
}
