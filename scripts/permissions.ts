/**
 * The Deno permission flags the release binary is compiled with, in one place.
 * `deno task desync` and the tests use the same list; the README lists the
 * narrower sets each command needs when run with `deno run`.
 */
import { S3_ENVIRONMENT_VARIABLES } from "../src/store/s3_credentials.ts";

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
];

export const BINARY_PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-run",
  "--allow-ffi",
  `--allow-env=${ALL_ENV.join(",")}`,
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
  // Deno's own stat has millisecond times and it cannot make device nodes or set a
  // symlink's time: tar and untar call libc for those.
  tar: ["--allow-read", "--allow-write", "--allow-ffi"],
  untar: ["--allow-read", "--allow-write", "--allow-ffi"],
  mtree: ["--allow-read"],
  "chunk-server": ["--allow-net", "--allow-read"],
  "chunk-server -w": ["--allow-net", "--allow-read", "--allow-write"],
  "index-server": ["--allow-net", "--allow-read"],
  "index-server -w": ["--allow-net", "--allow-read", "--allow-write"],
  pull: ["--allow-read"],
  "inspect-chunks": ["--allow-read"],
  "inspect-chunks OUTPUT": ["--allow-read", "--allow-write"],
  completion: [],
  manpage: ["--allow-read", "--allow-write"],
};
