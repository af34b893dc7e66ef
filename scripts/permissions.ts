/**
 * The Deno permission flags the release binary is compiled with, in one place.
 * `deno task desync` and the tests use the same list; the README lists the
 * narrower sets each command needs when run with `deno run`.
 *
 * None of them includes --allow-ffi: calling the C library is as good as every
 * permission at once. tar and untar work without it (times to the second or
 * millisecond, no extended attributes, no device nodes, FIFOs or sockets made);
 * granting it, or building the `desync-ffi` variant (`deno task build --ffi`),
 * gives casync-exact archives.
 */
import { S3_ENVIRONMENT_VARIABLES } from "../src/store/s3_credentials.ts";
import { PROXY_ENV } from "../src/util/http1.ts";

/** The S3 credential variables (S3_* first, then AWS_*; see src/store/s3_credentials.ts). */
export const S3_ENV = S3_ENVIRONMENT_VARIABLES;

/** What SFTP stores read: ~/.ssh via HOME, the default user name, the agent's socket. */
export const SFTP_ENV = ["HOME", "USER", "LOGNAME", "SSH_AUTH_SOCK"] as const;

/** HOME locates the default config file, $HOME/.config/desync/config.json. */
export const CONFIG_ENV = ["HOME"] as const;

const ALL_ENV = [
  "CASYNC_SSH_PATH",
  "CASYNC_REMOTE_PATH",
  "DESYNC_HTTP_AUTH",
  "DESYNC_PROGRESSBAR_ENABLED",
  "DESYNC_ENABLE_PARSABLE_PROGRESS",
  ...S3_ENV,
  ...SFTP_ENV,
  // Read only to learn that no proxy is set: plain-http GETs then skip fetch() (src/util/http1.ts).
  ...PROXY_ENV,
];

export const BINARY_PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-run",
  `--allow-env=${ALL_ENV.join(",")}`,
] as const;

/**
 * Runtime flags the binary is built with, beside its permissions. A 1 MiB young
 * generation per isolate (main thread and each codec worker) keeps peak memory
 * 10-25 MiB lower at no measured cost: our hot paths allocate few JS objects.
 * gc() lets make's lanes collect native memory V8 does not count (src/chunk/full_gc.ts).
 */
export const RUNTIME_FLAGS = ["--v8-flags=--max-semi-space-size=1,--expose-gc"] as const;

/** What tar and untar add for casync-exact archives (see src/util/tree_fs.ts). */
export const FFI_PERMISSION = "--allow-ffi";

/** The flags of the `desync-ffi` binary variant (`deno task build --ffi`). */
export const BINARY_FFI_PERMISSIONS = [...BINARY_PERMISSIONS, FFI_PERMISSION] as const;

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
  // Add FFI_PERMISSION for nanosecond times, extended attributes, device nodes, FIFOs and sockets.
  tar: ["--allow-read", "--allow-write"],
  untar: ["--allow-read", "--allow-write"],
  mtree: ["--allow-read"],
  "chunk-server": ["--allow-net", "--allow-read"],
  "chunk-server -w": ["--allow-net", "--allow-read", "--allow-write"],
  "chunk-server -c": ["--allow-net", "--allow-read", "--allow-write"],
  "chunk-server --log FILE": ["--allow-net", "--allow-read", "--allow-write"],
  "index-server": ["--allow-net", "--allow-read"],
  "index-server -w": ["--allow-net", "--allow-read", "--allow-write"],
  "index-server --log FILE": ["--allow-net", "--allow-read", "--allow-write"],
  pull: ["--allow-read"],
  "inspect-chunks": ["--allow-read"],
  "inspect-chunks OUTPUT": ["--allow-read", "--allow-write"],
  completion: [],
  manpage: ["--allow-read", "--allow-write"],
  config: ["--allow-read", "--allow-env=HOME"],
  "config -w": ["--allow-read", "--allow-write", "--allow-env=HOME"],
};
