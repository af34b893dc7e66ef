/** Checking HTTP(S) store and index URLs before any request is made. */
import { UsageError } from "../errors.ts";

/**
 * Parses an `http(s)://host[:port]/path` location a user gave for a store or
 * an index. It must name a host (the URL parser would otherwise take the first
 * path segment for one), carry no credentials (--http-auth sends those), and,
 * for a store, no query or fragment (chunk paths are appended to it).
 */
export function parseHttpLocation(location: string, what: "store" | "index"): URL {
  const bad = (why: string) => new UsageError(`${what} ${location}: ${why}`);
  const authority = /^https?:\/\/([^/?#]*)/i.exec(location)?.[1];
  if (authority === undefined) throw bad("not an http:// or https:// URL");
  if (authority === "") throw bad("the URL names no host");
  if (authority.includes("@")) {
    throw bad("credentials do not belong in the URL; use --http-auth or DESYNC_HTTP_AUTH");
  }
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw bad("not a valid URL");
  }
  if (url.hostname === "") throw bad("the URL names no host");
  if (what === "store" && (url.search !== "" || url.hash !== "" || /[?#]/.test(location))) {
    throw bad("a store URL takes no query or fragment");
  }
  return url;
}

/** A store location as a URL; one the URL parser refuses is the user's mistake (exit 2). */
export function parseStoreUrl(location: string): URL {
  try {
    return new URL(location);
  } catch {
    throw new UsageError(`store ${location}: not a valid URL`);
  }
}

/** A %-encoded part of a store URL, decoded; a bad escape is the user's mistake (exit 2). */
export function decodeUrlPart(location: string, encoded: string, what: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new UsageError(`store ${location}: bad %-escape in its ${what}`);
  }
}
