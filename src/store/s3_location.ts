/**
 * S3 store locations: `s3+http(s)://host[:port]/bucket[/prefix][?lookup=path|dns|auto]`.
 * Apart from the client (s3_client.ts), so that telling and checking locations
 * does not load the signer.
 */
import { decodeUrlPart, parseStoreUrl } from "./http_location.ts";
import { UsageError } from "../errors.ts";

export interface S3Location {
  /** `http:` or `https:`. */
  protocol: string;
  /** host[:port] of the endpoint. */
  host: string;
  bucket: string;
  /** Key prefix of the store, empty or ending in `/`. */
  prefix: string;
  virtualHost: boolean;
}

export function isS3Location(location: string): boolean {
  return /^s3\+https?:\/\//i.test(location);
}

/** Parses an `s3+http(s)://` location; a missing bucket or bad lookup is a UsageError. */
export function parseS3Location(location: string): S3Location {
  const url = parseStoreUrl(location);
  const protocol = url.protocol.toLowerCase().replace(/^s3\+/, "");
  if (protocol !== "http:" && protocol !== "https:") {
    throw new UsageError(`store ${location}: want s3+http:// or s3+https://`);
  }
  const segments = decodeUrlPart(location, url.pathname, "path").split("/").filter((part) =>
    part !== ""
  );
  if (segments.length === 0) {
    throw new UsageError(`store ${location}: no bucket in the path (s3+http://host/BUCKET/…)`);
  }
  for (const key of url.searchParams.keys()) {
    if (key !== "lookup") throw new UsageError(`store ${location}: unknown parameter "${key}"`);
  }
  const lookup = url.searchParams.get("lookup") ?? "";
  if (!["", "auto", "path", "dns"].includes(lookup)) {
    throw new UsageError(
      `store ${location}: unknown S3 bucket lookup "${lookup}" (path, dns, auto)`,
    );
  }
  const onAws = /(^|\.)amazonaws\.com$/i.test(url.hostname);
  const [bucket, ...rest] = segments;
  return {
    protocol,
    host: url.host,
    bucket,
    prefix: rest.length ? `${rest.join("/")}/` : "",
    virtualHost: lookup === "dns" || (lookup === "auto" && onAws),
  };
}
