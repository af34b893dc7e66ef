/**
 * One SSH connection with an SFTP channel, by npm:ssh2 (loaded on first use):
 * key authentication (agent, identity files), the host key checked against
 * known_hosts, and promise-returning file operations that each observe a
 * timeout and an AbortSignal. Many operations may be in flight at once on the
 * one channel; SFTP matches answers to requests by ID.
 */
import { Buffer } from "node:buffer";
import { StoreError, UsageError } from "../errors.ts";
import { describeFsError, tempName } from "../util/fs.ts";
import { checkHostKey, knownHostsName } from "./known_hosts.ts";
import type { SftpLocation, SftpOptions } from "./sftp_location.ts";

/** The connection broke, timed out or could not be made: worth a fresh connection. */
export class SftpConnectionError extends Error {}

/** The server answered a request with an error status. */
export class SftpStatusError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

const NO_SUCH_FILE = 2;

/** How long a stopped write waits for the server to remove its temporary file. */
const STOPPED_CLEANUP_MS = 1_000;

// The parts of npm:ssh2 used here (it ships no types of its own).
interface Ssh2Stats {
  size: number;
  isDirectory(): boolean;
  isFile(): boolean;
}
type Callback<T = void> = (error: (Error & { code?: number }) | undefined | null, value: T) => void;
interface Ssh2Sftp {
  open(path: string, flags: string, callback: Callback<Uint8Array>): void;
  close(handle: Uint8Array, callback: Callback): void;
  fstat(handle: Uint8Array, callback: Callback<Ssh2Stats>): void;
  read(
    handle: Uint8Array,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
    callback: Callback<number>,
  ): void;
  write(
    handle: Uint8Array,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
    callback: Callback,
  ): void;
  stat(path: string, callback: Callback<Ssh2Stats>): void;
  readdir(path: string, callback: Callback<{ filename: string }[]>): void;
  unlink(path: string, callback: Callback): void;
  mkdir(path: string, callback: Callback): void;
  rename(from: string, to: string, callback: Callback): void;
  ext_openssh_rename(from: string, to: string, callback: Callback): void;
}
interface Ssh2Client {
  on(event: "ready" | "close" | "end", listener: () => void): Ssh2Client;
  on(event: "error", listener: (error: Error & { level?: string }) => void): Ssh2Client;
  connect(config: Record<string, unknown>): void;
  sftp(callback: Callback<Ssh2Sftp>): void;
  end(): void;
  destroy(): void;
  setNoDelay(noDelay: boolean): void;
}
interface Ssh2Module {
  Client: new () => Ssh2Client;
  utils: { parseKey(data: Uint8Array | string, passphrase?: string): unknown };
}

async function loadSsh2(): Promise<Ssh2Module> {
  const module = await import("ssh2");
  return (module.default ?? module) as unknown as Ssh2Module;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

/** The publickey/agent attempts to offer, in order. */
async function authMethods(
  ssh2: Ssh2Module,
  name: string,
  username: string,
  options: SftpOptions,
): Promise<Record<string, unknown>[]> {
  const methods: Record<string, unknown>[] = [];
  if (options.agentSocket) methods.push({ type: "agent", username, agent: options.agentSocket });
  const files = options.explicitIdentity
    ? [options.explicitIdentity, ...options.identityFiles]
    : options.identityFiles;
  for (const file of new Set(files)) {
    const explicit = file === options.explicitIdentity;
    let data: Buffer;
    try {
      data = Buffer.from(await Deno.readFile(file));
    } catch (error) {
      if (explicit) {
        throw new StoreError(name, `identity ${file}: ${describeFsError(error)}`, { cause: error });
      }
      continue;
    }
    const key = ssh2.utils.parseKey(data);
    if (key instanceof Error) {
      if (explicit) {
        const encrypted = /passphrase|encrypted/i.test(key.message);
        throw new StoreError(
          name,
          encrypted
            ? `identity ${file} is encrypted; load it into ssh-agent instead`
            : `identity ${file}: ${key.message}`,
        );
      }
      continue;
    }
    methods.push({ type: "publickey", username, key: data });
  }
  return methods;
}

export class SftpConnection {
  readonly #client: Ssh2Client;
  readonly #sftp: Ssh2Sftp;
  readonly #timeoutMs: number;
  #dead = false;

  private constructor(client: Ssh2Client, sftp: Ssh2Sftp, timeoutMs: number) {
    this.#client = client;
    this.#sftp = sftp;
    this.#timeoutMs = timeoutMs;
    const die = () => this.#dead = true;
    client.on("close", die).on("end", die).on("error", die);
  }

  /** Connects, authenticates, checks the host key and opens the SFTP channel. */
  static async open(
    name: string,
    location: SftpLocation,
    options: SftpOptions,
    timeoutMs: number,
  ): Promise<SftpConnection> {
    const username = location.user ?? options.defaultUser;
    if (!username) {
      // USER counts as unset where --allow-env does not let it be read.
      throw new UsageError(
        `store ${name}: no user name; write sftp://USER@host/… or set USER ` +
          "(read with --allow-env=USER)",
      );
    }
    const ssh2 = await loadSsh2();
    const methods = await authMethods(ssh2, name, username, options);
    if (methods.length === 0) {
      throw new StoreError(
        name,
        "no SSH key to offer: give --identity FILE, run ssh-agent, or create ~/.ssh/id_ed25519",
      );
    }
    const knownHosts: string[] = [];
    for (const file of options.knownHostsFiles) {
      const text = await readOptional(file);
      if (text !== undefined) knownHosts.push(text);
    }
    const hostName = knownHostsName(location.host, location.port);
    const { createHmac } = await import("node:crypto");
    const hmac = (key: Uint8Array, data: Uint8Array) =>
      new Uint8Array(createHmac("sha1", key).update(data).digest());
    let hostKeyProblem: string | undefined;
    const client = new ssh2.Client();
    const sftp = await new Promise<Ssh2Sftp>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.destroy();
        reject(new SftpConnectionError(`no SSH session within ${timeoutMs} ms`));
      }, timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        client.destroy();
        reject(error);
      };
      client.on("error", (error) => {
        if (hostKeyProblem) return fail(new StoreError(name, hostKeyProblem));
        if (error.level === "client-authentication") {
          return fail(new StoreError(name, `the server refused every key offered for ${username}`));
        }
        fail(new SftpConnectionError(error.message));
      });
      client.on("close", () => fail(new SftpConnectionError("the connection closed")));
      client.on("ready", () => {
        client.sftp((error, channel) => {
          if (error) return fail(new SftpConnectionError(`no SFTP subsystem: ${error.message}`));
          clearTimeout(timer);
          resolve(channel);
        });
      });
      client.connect({
        host: location.host,
        port: location.port,
        username,
        authHandler: methods,
        readyTimeout: timeoutMs,
        keepaliveInterval: 15_000,
        hostVerifier: (key: Uint8Array) => {
          const verdict = checkHostKey(knownHosts, location.host, location.port, key, hmac);
          if (verdict === "unknown" && !options.acceptUnknownHostKeys) {
            hostKeyProblem = `host key of ${hostName} is not in known_hosts ` +
              `(${options.knownHostsFiles.join(", ") || "none given"}); ` +
              "add it, or pass --accept-unknown-host-keys";
          } else if (verdict === "mismatch") {
            hostKeyProblem = `host key of ${hostName} does not match known_hosts: ` +
              "it changed, or someone is in between; refusing to connect";
          } else if (verdict === "revoked") {
            hostKeyProblem = `host key of ${hostName} is marked @revoked in known_hosts`;
          }
          return hostKeyProblem === undefined;
        },
      });
      // Requests and answers are small and interleaved: Nagle's algorithm would stall each one.
      client.setNoDelay(true);
    });
    return new SftpConnection(client, sftp, timeoutMs);
  }

  get dead(): boolean {
    return this.#dead;
  }

  close(): void {
    this.#dead = true;
    this.#client.end();
  }

  /** The file's bytes, or undefined when it does not exist. Larger than `maxBytes` is an error. */
  async readFile(path: string, maxBytes: number, signal?: AbortSignal) {
    let handle: Uint8Array;
    try {
      handle = await this.#call<Uint8Array>((cb) => this.#sftp.open(path, "r", cb), signal);
    } catch (error) {
      if (error instanceof SftpStatusError && error.code === NO_SUCH_FILE) return undefined;
      throw error;
    }
    try {
      const stats = await this.#call<Ssh2Stats>((cb) => this.#sftp.fstat(handle, cb), signal);
      // A directory opens, and its first read says only "Failure".
      if (!stats.isFile()) throw new SftpStatusError(0, `${path} is not a regular file`);
      const { size } = stats;
      if (size > maxBytes) {
        throw new SftpStatusError(0, `${path} has ${size} bytes, more than ${maxBytes}`);
      }
      const data = Buffer.alloc(size);
      let done = 0;
      while (done < size) {
        const got = await this.#call<number>(
          (cb) => this.#sftp.read(handle, data, done, size - done, done, cb),
          signal,
        );
        if (!got) throw new SftpStatusError(0, `${path} shrank while being read`);
        done += got;
      }
      return new Uint8Array(data.buffer, data.byteOffset, data.length);
    } finally {
      const closing = this.#call((cb) => this.#sftp.close(handle, cb)).catch(() => {});
      // Once stopped, a stalled server must not hold the caller up for a handle it frees anyway.
      if (!signal?.aborted) await closing;
    }
  }

  /** Writes under a temporary name beside `path`, then renames it into place. */
  async writeFile(path: string, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    const temp = tempName(path);
    let handle: Uint8Array;
    try {
      handle = await this.#call<Uint8Array>((cb) => this.#sftp.open(temp, "w", cb), signal);
    } catch (error) {
      if (!(error instanceof SftpStatusError && error.code === NO_SUCH_FILE)) throw error;
      await this.mkdirs(path.slice(0, path.lastIndexOf("/")), signal);
      handle = await this.#call<Uint8Array>((cb) => this.#sftp.open(temp, "w", cb), signal);
    }
    let open = true;
    try {
      if (data.length) {
        const buffer = Buffer.from(data.buffer, data.byteOffset, data.length);
        await this.#call((cb) => this.#sftp.write(handle, buffer, 0, data.length, 0, cb), signal);
      }
      open = false;
      await this.#call((cb) => this.#sftp.close(handle, cb));
      await this.#call((cb) => this.#sftp.ext_openssh_rename(temp, path, cb), signal);
    } catch (error) {
      // Close and removal go out together; once stopped, a stalled server gets only a moment.
      const limit = signal?.aborted ? STOPPED_CLEANUP_MS : this.#timeoutMs;
      await Promise.allSettled([
        open && this.#call((cb) => this.#sftp.close(handle, cb), undefined, limit),
        this.#call((cb) => this.#sftp.unlink(temp, cb), undefined, limit),
      ]);
      throw error;
    }
  }

  /** "file", "directory", or undefined when nothing is there. */
  async stat(path: string, signal?: AbortSignal): Promise<"file" | "directory" | undefined> {
    try {
      const stats = await this.#call<Ssh2Stats>((cb) => this.#sftp.stat(path, cb), signal);
      return stats.isDirectory() ? "directory" : "file";
    } catch (error) {
      if (error instanceof SftpStatusError && error.code === NO_SUCH_FILE) return undefined;
      throw error;
    }
  }

  /** Names in a directory (without `.` and `..`), or undefined when it does not exist. */
  async readdir(path: string, signal?: AbortSignal): Promise<string[] | undefined> {
    try {
      const entries = await this.#call<{ filename: string }[]>(
        (cb) => this.#sftp.readdir(path, cb),
        signal,
      );
      return entries.map((entry) => entry.filename).filter((n) => n !== "." && n !== "..");
    } catch (error) {
      if (error instanceof SftpStatusError && error.code === NO_SUCH_FILE) return undefined;
      throw error;
    }
  }

  /** Removes a file; one that is not there is not an error. */
  async unlink(path: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#call((cb) => this.#sftp.unlink(path, cb), signal);
    } catch (error) {
      if (!(error instanceof SftpStatusError && error.code === NO_SUCH_FILE)) throw error;
    }
  }

  /** Creates a directory and its missing parents. */
  async mkdirs(path: string, signal?: AbortSignal): Promise<void> {
    if (path === "" || path === "/") return;
    if (await this.stat(path, signal) === "directory") return;
    await this.mkdirs(path.slice(0, path.lastIndexOf("/")), signal);
    try {
      await this.#call((cb) => this.#sftp.mkdir(path, cb), signal);
    } catch (error) {
      // Another writer may have made it meanwhile.
      if (await this.stat(path, signal) !== "directory") throw error;
    }
  }

  /** Runs one request with the timeout and the signal; a timeout drops the connection. */
  #call<T = void>(
    start: (callback: Callback<T>) => void,
    signal?: AbortSignal,
    timeoutMs = this.#timeoutMs,
  ): Promise<T> {
    if (this.#dead) return Promise.reject(new SftpConnectionError("the connection closed"));
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => finish(() => reject(signal!.reason));
      const timer = setTimeout(() => {
        this.#dead = true;
        this.#client.destroy();
        finish(() => reject(new SftpConnectionError(`no answer within ${timeoutMs} ms`)));
      }, timeoutMs);
      let settled = false;
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        settle();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        start((error, value) => {
          finish(() => {
            if (!error) return resolve(value);
            if (typeof error.code === "number") {
              return reject(new SftpStatusError(error.code, error.message));
            }
            this.#dead = true;
            reject(new SftpConnectionError(error.message));
          });
        });
      } catch (error) {
        // ssh2 throws synchronously once the channel is gone.
        this.#dead = true;
        finish(() => reject(new SftpConnectionError((error as Error).message)));
      }
    });
  }
}
