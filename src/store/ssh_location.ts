/**
 * `ssh://` store locations, quoting for the remote shell ssh hands commands
 * to, starting the remote's `pull`, and quoting what the remote says back.
 */
import { UsageError } from "../errors.ts";
import { describeNotCapable } from "../util/fs.ts";
import { escapeControls } from "../util/printable.ts";

export interface SshLocation {
  user?: string;
  host: string;
  port?: number;
  path: string;
}

/** Parses `ssh://[user@]host[:port]/path`. */
export function parseSshLocation(location: string): SshLocation {
  const match = /^ssh:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?(\/.*)$/i.exec(location);
  if (!match) throw new UsageError(`store ${location}: want ssh://[user@]host[:port]/path`);
  const [, user, host, port, path] = match;
  if (host.startsWith("-") || user?.startsWith("-")) {
    throw new UsageError(`store ${location}: a host may not start with "-"`);
  }
  return { user, host: host.replace(/^\[|\]$/g, ""), port: port ? Number(port) : undefined, path };
}

/** Quotes a word for the remote shell that ssh hands the command line to. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_\-./=:@,+]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The ssh command line that runs the remote's `pull` with `pullArgs` (casync's
 * positional BASE ARCHIVE INDEX WSTORE [RSTORE…]; `-` for none):
 * `[-p PORT] [USER@]HOST REMOTE pull ARGS…`, paths quoted for the remote shell.
 */
export function sshPullArgs(
  location: SshLocation,
  remotePath: string,
  pullArgs: readonly string[],
): string[] {
  const target = location.user ? `${location.user}@${location.host}` : location.host;
  return [
    ...(location.port ? ["-p", String(location.port)] : []),
    target,
    remotePath,
    "pull",
    ...pullArgs.map((arg) => arg === "-" ? arg : shellQuote(arg)),
  ];
}

/**
 * Starts `${sshPath} … ${remotePath} pull ARGS…` with piped stdio. Throws an
 * Error whose message says why the program could not run (not found, not
 * permitted, …), for the caller to attach to its store or index.
 */
export function spawnSshPull(
  location: SshLocation,
  options: { sshPath: string; remotePath: string },
  pullArgs: readonly string[],
): Deno.ChildProcess {
  try {
    return new Deno.Command(options.sshPath, {
      args: sshPullArgs(location, options.remotePath, pullArgs),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "not found"
      : error instanceof Deno.errors.NotCapable
      ? describeNotCapable(error)
      : (error as Error).message;
    throw new Error(`cannot run ${options.sshPath}: ${why}`, { cause: error });
  }
}

/** Longest text from the remote a message quotes. */
const REMOTE_TEXT_MAX = 200;

/** Text from the remote as a message may quote it: control characters escaped, cut short. */
export function remoteText(text: string): string {
  const shown = escapeControls(text);
  return shown.length > REMOTE_TEXT_MAX ? `${shown.slice(0, REMOTE_TEXT_MAX)}…` : shown;
}

/** The remote's last stderr line as a terminal shows it (after its last carriage return), quoted. */
export function lastRemoteLine(stderr: string): string | undefined {
  const line = stderr.split(/[\r\n]/).filter((text) => text.trim()).at(-1)?.trim();
  return line === undefined ? undefined : remoteText(line);
}

/**
 * What a remote writes on stderr, read as it comes: only the last `max`
 * characters are kept, so a remote flooding it costs nothing more.
 */
export class StderrTail {
  text = "";
  /** Resolves at the end of the stream (or when cancel stops the reading). */
  readonly done: Promise<void>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(stream: ReadableStream<Uint8Array>, readonly max = 4096) {
    this.#reader = stream.getReader();
    this.done = this.#read();
  }

  /** Stops reading: something the process started may hold stderr open after it exits. */
  cancel() {
    this.#reader.cancel().catch(() => {});
  }

  async #read() {
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        this.text = (this.text + decoder.decode(value, { stream: true })).slice(-this.max);
      }
    } catch {
      // the stream ends with the process
    }
  }
}
