/** The `--authorization` check: the request's header must equal the expected value exactly. */
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * A predicate on the request's Authorization header; with no expected value
 * every request passes. Both sides are hashed first so the comparison takes the
 * same time whatever the lengths and contents.
 */
export function authorizer(expected: string | undefined): (header: string | undefined) => boolean {
  if (expected === undefined || expected === "") return () => true;
  const want = digest(expected);
  return (header) => header !== undefined && timingSafeEqual(digest(header), want);
}

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}
