/**
 * One ssh process speaking casync's protocol (src/caprotocol.h) for a chunk
 * store: HELLO, then one REQUEST at a time answered by CHUNK or MISSING, and
 * GOODBYE at the end.
 */
import { ChunkInvalid, StoreError } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
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
import type { SshOptions } from "./ssh.ts";
import { shellQuote, type SshLocation } from "./ssh_location.ts";

export type Reply = { kind: "chunk"; data: Uint8Array; compressed: boolean } | { kind: "missing" };

/** One ssh process speaking casync's protocol, serving one request at a time. */
export class SshSession {
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
