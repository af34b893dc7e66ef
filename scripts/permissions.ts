/**
 * The Deno permission flags the release binary is compiled with, in one place.
 * `deno task desync` and the tests use the same list; the README lists the
 * narrower sets each command needs when run with `deno run`.
 */
export const BINARY_PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-run",
  "--allow-env=CASYNC_SSH_PATH,CASYNC_REMOTE_PATH,DESYNC_HTTP_AUTH,DESYNC_PROGRESSBAR_ENABLED," +
  "DESYNC_ENABLE_PARSABLE_PROGRESS",
] as const;

/** The narrowest flags for each command with local stores and files. */
export const COMMAND_PERMISSIONS: Record<string, readonly string[]> = {
  extract: ["--allow-read", "--allow-write"],
  cat: ["--allow-read"],
  cache: ["--allow-read", "--allow-write"],
  chop: ["--allow-read", "--allow-write"],
  make: ["--allow-read", "--allow-write"],
  verify: ["--allow-read"],
  "verify -r": ["--allow-read", "--allow-write"],
  "list-chunks": ["--allow-read"],
  chunk: ["--allow-read"],
  info: ["--allow-read"],
  "verify-index": ["--allow-read"],
  prune: ["--allow-read", "--allow-write"],
  "inspect-chunks": ["--allow-read"],
  "inspect-chunks OUTPUT": ["--allow-read", "--allow-write"],
  completion: [],
  manpage: ["--allow-read", "--allow-write"],
};
