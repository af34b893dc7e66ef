/**
 * SFTP store and index locations (`sftp://[user@]host[:port]/path`) and the
 * connection options, apart from the connection itself: parsing a location
 * must not load what a connection needs (node:buffer, npm:ssh2).
 */
import { UsageError } from "../errors.ts";
import { decodeUrlPart, parseStoreUrl } from "./http_location.ts";

export interface SftpOptions {
  /** Private key files to offer, in order; unreadable or encrypted ones are skipped. */
  identityFiles: readonly string[];
  /** A key file the user named: it must be readable and unencrypted. */
  explicitIdentity?: string;
  /** An ssh-agent socket (SSH_AUTH_SOCK), tried first. */
  agentSocket?: string;
  /** known_hosts files; missing ones count as empty. */
  knownHostsFiles: readonly string[];
  /** Connect to hosts no known_hosts line names (a changed key is refused regardless). */
  acceptUnknownHostKeys: boolean;
  /** User when the location names none. */
  defaultUser?: string;
  /** Requests in flight at once on a connection (-n). */
  concurrency: number;
}

export const DEFAULT_SFTP_OPTIONS: SftpOptions = {
  identityFiles: [],
  knownHostsFiles: [],
  acceptUnknownHostKeys: false,
  concurrency: 10,
};

export interface SftpLocation {
  host: string;
  port: number;
  user?: string;
  /** Absolute directory (or file) path on the server, without a trailing `/`. */
  path: string;
}

export function isSftpLocation(location: string): boolean {
  return /^sftp:\/\//i.test(location);
}

export function parseSftpLocation(location: string): SftpLocation {
  const url = parseStoreUrl(location);
  if (!url.hostname) throw new UsageError(`store ${location}: no host`);
  if (url.password) {
    throw new UsageError(`store ${location}: passwords in URLs are not supported; use keys`);
  }
  const path = decodeUrlPart(location, url.pathname, "path").replace(/\/+$/, "") || "/";
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port ? Number(url.port) : 22,
    user: url.username ? decodeUrlPart(location, url.username, "user name") : undefined,
    path,
  };
}
