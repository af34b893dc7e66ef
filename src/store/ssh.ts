/**
 * A chunk store reached over SSH, spoken to with casync's protocol. Like casync,
 * it runs `${CASYNC_SSH_PATH:-ssh} [-p PORT] [USER@]HOST ${CASYNC_REMOTE_PATH:-casync}
 * pull - - - - PATH` and exchanges framed messages on the process's stdin/stdout.
 * Up to `sessions` processes serve requests, each one request at a time. casync
 * answers a chunk at most once per session (it drops repeated requests), so a
 * session is never asked twice for the same chunk: another or a fresh one is.
 * On close every session gets GOODBYE and its process is waited for (or killed).
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { ChunkInvalid, ChunkMissing, StoreError, UsageError } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";
import {
  decodeAbort,
  decodeChunk,
  decodeHello,
  decodeMissing,
  encodeHello,
  encodeMessage,
  encodeRequest,
  Feature,
  MessageReader,
  MessageType,
} from "../protocol/messages.ts";
import type { Chunk, RawChunk, RawChunkStore } from "./store.ts";
import { decodeStoredChunk } from "./decode.ts";

export interface SshOptions {
  /** The ssh program (casync's CASYNC_SSH_PATH). */
  sshPath: string;
  /** casync on the remote side (casync's CASYNC_REMOTE_PATH). */
  remotePath: string;
  /** Most sessions (processes) open at once. */
  sessions?: number;
  /** How long a session may take to exit after GOODBYE before it is killed. */
  closeTimeoutMs?: number;
}

export const DEFAULT_SSH_OPTIONS: SshOptions = { sshPath: "ssh", remotePath: "casync" };

export interface SshStoreOptions {
  codec: CodecPool;
  digests: readonly Digest[];
  ssh: SshOptions;
}

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

export class SshStore implements RawChunkStore {
  readonly name: string;
  readonly #location: SshLocation;
  readonly #options: SshStoreOptions;
  readonly #idle: SshSession[] = [];
  readonly #all = new Set<SshSession>();
  readonly #waiting: ((session: SshSession | Error) => void)[] = [];
  readonly #retiring = new Set<Promise<void>>();
  #starting = 0;
  #closed = false;

  private constructor(name: string, location: SshLocation, options: SshStoreOptions) {
    this.name = name;
    this.#location = location;
    this.#options = options;
  }

  static open(location: string, options: SshStoreOptions): SshStore {
    return new SshStore(location, parseSshLocation(location), options);
  }

  async getRawChunk(id: ChunkId, signal?: AbortSignal): Promise<RawChunk> {
    const reply = await this.#withSession(id, (session) => session.request(id), signal);
    if (reply.kind === "missing") throw new ChunkMissing(id, this.name);
    return { data: reply.data, compressed: reply.compressed };
  }

  async getChunk(id: ChunkId, signal?: AbortSignal): Promise<Chunk> {
    const raw = await this.getRawChunk(id, signal);
    const { codec, digests } = this.#options;
    return await decodeStoredChunk(codec, this.name, id, digests, raw);
  }

  /** casync's protocol has no "has": the chunk is requested and its data dropped. */
  async hasChunk(id: ChunkId, signal?: AbortSignal): Promise<boolean> {
    const reply = await this.#withSession(id, (session) => session.request(id), signal);
    return reply.kind === "chunk";
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter(new StoreError(this.name, "store closed"));
    await Promise.allSettled([...this.#all].map((session) => session.close()));
    await Promise.allSettled(this.#retiring);
    this.#all.clear();
    this.#idle.length = 0;
  }

  /** Runs `work` on a session that has not been asked for `id` yet. */
  async #withSession<T>(
    id: ChunkId,
    work: (session: SshSession) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    signal?.throwIfAborted();
    const session = await this.#acquire(id);
    let healthy = false;
    const onAbort = () => session.kill();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const result = await work(session);
      healthy = true;
      return result;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (healthy) this.#release(session);
      else this.#discard(session);
    }
  }

  async #acquire(id: ChunkId): Promise<SshSession> {
    for (;;) {
      if (this.#closed) throw new StoreError(this.name, "store closed");
      const fresh = this.#idle.findIndex((session) => !session.asked(id));
      if (fresh >= 0) return this.#idle.splice(fresh, 1)[0];
      const limit = Math.max(1, this.#options.ssh.sessions ?? 4);
      if (this.#all.size + this.#starting >= limit && this.#idle.length > 0) {
        // Every idle session was asked for this chunk already: retire one to make room.
        this.#retire(this.#idle.pop()!);
      }
      if (this.#all.size + this.#starting < limit) return await this.#start();
      const next = await new Promise<SshSession | Error>((resolve) => this.#waiting.push(resolve));
      if (next instanceof Error) throw next;
      if (!next.asked(id)) return next;
      this.#retire(next);
    }
  }

  async #start(): Promise<SshSession> {
    this.#starting++;
    try {
      const session = await SshSession.start(this.name, this.#location, this.#options.ssh);
      this.#all.add(session);
      if (this.#closed) {
        await session.close();
        throw new StoreError(this.name, "store closed");
      }
      return session;
    } finally {
      this.#starting--;
    }
  }

  #release(session: SshSession) {
    const waiter = this.#waiting.shift();
    if (waiter) waiter(session);
    else this.#idle.push(session);
  }

  /** Closes a healthy session in the background (close() waits for it). */
  #retire(session: SshSession) {
    this.#all.delete(session);
    this.#track(session.close());
  }

  /** Kills a session that failed or was interrupted; close() waits for its process. */
  #discard(session: SshSession) {
    this.#all.delete(session);
    session.kill();
    this.#track(session.exited());
    this.#wakeWaiter();
  }

  #track(ending: Promise<void>) {
    const tracked: Promise<void> = ending.catch(() => {}).finally(() =>
      this.#retiring.delete(tracked)
    );
    this.#retiring.add(tracked);
  }

  /** A slot was freed: let the first waiter start a session of its own. */
  #wakeWaiter() {
    const waiter = this.#waiting.shift();
    if (!waiter) return;
    if (this.#closed) return waiter(new StoreError(this.name, "store closed"));
    this.#start().then(waiter, waiter);
  }
}

type Reply = { kind: "chunk"; data: Uint8Array; compressed: boolean } | { kind: "missing" };

/** One ssh process speaking casync's protocol, serving one request at a time. */
class SshSession {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: MessageReader;
  readonly #store: string;
  readonly #closeTimeoutMs: number;
  #stderr = "";
  readonly #stderrDone: Promise<void>;
  #exited = false;
  readonly #asked = new Set<ChunkId>();

  private constructor(store: string, child: Deno.ChildProcess, closeTimeoutMs: number) {
    this.#store = store;
    this.#child = child;
    this.#closeTimeoutMs = closeTimeoutMs;
    this.#writer = child.stdin.getWriter();
    this.#reader = new MessageReader(child.stdout);
    this.#stderrDone = this.#collectStderr(child.stderr);
    child.status.then(() => this.#exited = true);
  }

  static async start(
    store: string,
    location: SshLocation,
    options: SshOptions,
  ): Promise<SshSession> {
    const target = location.user ? `${location.user}@${location.host}` : location.host;
    const args = [
      ...(location.port ? ["-p", String(location.port)] : []),
      target,
      options.remotePath,
      "pull",
      "-",
      "-",
      "-",
      "-",
      shellQuote(location.path),
    ];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(options.sshPath, {
        args,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound
        ? `cannot run ${options.sshPath}: not found`
        : `cannot run ${options.sshPath}: ${(error as Error).message}`;
      throw new StoreError(store, reason, { cause: error });
    }
    const session = new SshSession(store, child, options.closeTimeoutMs ?? 5000);
    try {
      await session.#send(encodeHello(Feature.PULL_CHUNKS));
      const hello = await session.#receive();
      if (hello.type !== MessageType.HELLO) {
        throw session.#fail("the remote did not start with HELLO");
      }
      const features = decodeHello(hello.body);
      if (!(features & Feature.READABLE_STORE)) {
        throw session.#fail("the remote offers no readable chunk store");
      }
      return session;
    } catch (error) {
      session.kill();
      throw await session.#explain(error);
    }
  }

  /** Whether this session was already asked for `id` (casync would not answer again). */
  asked(id: ChunkId): boolean {
    return this.#asked.has(id);
  }

  async request(id: ChunkId): Promise<Reply> {
    this.#asked.add(id);
    try {
      await this.#send(encodeRequest([id]));
      for (;;) {
        const message = await this.#receive();
        if (message.type === MessageType.CHUNK) {
          const chunk = decodeChunk(message.body);
          if (chunk.id !== id) {
            throw this.#fail(`answered chunk ${chunk.id} to a request for ${id}`);
          }
          return { kind: "chunk", data: chunk.data, compressed: chunk.compressed };
        }
        if (message.type === MessageType.MISSING) {
          const missing = decodeMissing(message.body);
          if (missing !== id) {
            throw this.#fail(`answered MISSING ${missing} to a request for ${id}`);
          }
          return { kind: "missing" };
        }
        if (message.type !== MessageType.INDEX_EOF && message.type !== MessageType.ARCHIVE_EOF) {
          throw this.#fail(`unexpected message type 0x${message.type.toString(16)}`);
        }
      }
    } catch (error) {
      const explained = await this.#explain(error);
      // casync checks chunks before sending them and quits with EBADMSG on a bad one.
      if (/Bad message/.test(this.#stderr)) {
        throw new ChunkInvalid(
          id,
          this.#store,
          `the remote casync rejected it: ${explained.detail}`,
        );
      }
      throw explained;
    }
  }

  /** Says GOODBYE, closes stdin and waits for the process; kills it if it lingers. */
  async close(): Promise<void> {
    if (!this.#exited) {
      try {
        await this.#send(encodeMessage(MessageType.GOODBYE));
        await this.#writer.close();
      } catch {
        // The process is already gone; waiting below collects it.
      }
    }
    const timer = setTimeout(() => this.kill(), this.#closeTimeoutMs);
    try {
      this.#reader.cancel();
      await this.#child.status;
      await this.#stderrDone;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when the process has exited and its stderr is read. */
  async exited(): Promise<void> {
    await this.#child.status;
    await this.#stderrDone;
  }

  kill(): void {
    if (this.#exited) return;
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already exited
    }
    this.#writer.close().catch(() => {});
    this.#reader.cancel();
  }

  async #send(bytes: Uint8Array) {
    await this.#writer.write(bytes);
  }

  async #receive() {
    const message = await this.#reader.next();
    if (!message) throw this.#fail("the remote ended the session");
    if (message.type === MessageType.ABORT) {
      const { reason } = decodeAbort(message.body);
      throw this.#fail(`the remote aborted: ${reason}`);
    }
    return message;
  }

  #fail(detail: string): StoreError {
    return new StoreError(this.#store, detail);
  }

  /** Adds what the remote said on stderr, which usually names the real cause. */
  async #explain(error: unknown): Promise<StoreError> {
    const base = error instanceof StoreError
      ? error.detail
      : `protocol error: ${(error as Error)?.message ?? error}`;
    // Give a dying process a moment to finish its last words on stderr.
    await Promise.race([this.#child.status, new Promise((r) => setTimeout(r, 200))]);
    const said = this.#stderr.trim().split("\n").filter(Boolean).at(-1);
    return new StoreError(this.#store, said ? `${base} (remote said: ${said})` : base, {
      cause: error,
    });
  }

  async #collectStderr(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    try {
      for await (const part of stream) {
        this.#stderr = (this.#stderr + decoder.decode(part, { stream: true })).slice(-4096);
      }
    } catch {
      // the stream closes with the process
    }
  }
}
