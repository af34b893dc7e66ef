/**
 * Checking an SSH server's host key against OpenSSH `known_hosts` files:
 * plain and hashed (`|1|salt|hash`) host names, `[host]:port` for ports other
 * than 22, comma-separated patterns with `*`, `?` and `!` negation, and
 * `@revoked` lines. (`@cert-authority` lines are skipped: host certificates are
 * not supported.)
 */
import { decodeBase64 } from "../util/base64.ts";

/** HMAC-SHA1 of `data` under `key` (node:crypto's, passed in so this module loads nothing). */
export type HmacSha1 = (key: Uint8Array, data: Uint8Array) => Uint8Array;

export type HostKeyVerdict =
  /** A line names this host with this key. */
  | "known"
  /** No line names this host. */
  | "unknown"
  /** Lines name this host, with other keys: possibly a man in the middle. */
  | "mismatch"
  /** The key is listed as @revoked. */
  | "revoked";

/** How a host is written in known_hosts: `host`, or `[host]:port` off port 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${regex}$`, "i").test(name);
}

function hashedMatch(field: string, name: string, hmac: HmacSha1): boolean {
  const [, , salt, hash] = field.split("|");
  if (!salt || !hash) return false;
  try {
    return sameBytes(decodeBase64(hash), hmac(decodeBase64(salt), new TextEncoder().encode(name)));
  } catch {
    return false; // malformed base64
  }
}

/** Does a line's host field name `name`? A matching `!pattern` excludes it. */
function hostFieldMatches(field: string, name: string, hmac: HmacSha1): boolean {
  if (field.startsWith("|1|")) return hashedMatch(field, name, hmac);
  let matched = false;
  for (const pattern of field.split(",")) {
    if (pattern.startsWith("!")) {
      if (wildcardMatch(pattern.slice(1), name)) return false;
    } else if (wildcardMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * Judges `key` (the server's raw public key blob) for `host:port` against
 * known_hosts texts. Synchronous: ssh2 stalls when a host key is verified later.
 */
export function checkHostKey(
  knownHosts: readonly string[],
  host: string,
  port: number,
  key: Uint8Array,
  hmac: HmacSha1,
): HostKeyVerdict {
  const name = knownHostsName(host, port);
  let hostSeen = false;
  let known = false;
  for (const text of knownHosts) {
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const fields = line.split(/\s+/);
      const marker = fields[0].startsWith("@") ? fields.shift() : undefined;
      if (fields.length < 3 || marker === "@cert-authority") continue;
      let blob: Uint8Array;
      try {
        blob = decodeBase64(fields[2]);
      } catch {
        continue; // a malformed line, as ssh skips it
      }
      const sameKey = sameBytes(blob, key);
      if (marker === "@revoked") {
        if (sameKey) return "revoked";
        continue;
      }
      if (!hostFieldMatches(fields[0], name, hmac)) continue;
      hostSeen = true;
      if (sameKey) known = true;
    }
  }
  return known ? "known" : hostSeen ? "mismatch" : "unknown";
}
