/**
 * One ssh process speaking casync's protocol (src/caprotocol.h) for a chunk
 * store: HELLO, then REQUESTs answered by CHUNK or MISSING, and GOODBYE at the
 * end. Several requests are kept in flight (pipelined): the remote queues them
 * and answers each in turn, so it never waits for the next request to arrive.
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
import {
  lastRemoteLine,
  remoteText,
  spawnSshPull,
  type SshLocation,
  StderrTail,
} from "./ssh_location.ts";
import { onForcedExit } from "../util/shutdown.ts";
import { concatBytes } from "../util/bytes.ts";

export type Reply = { kind: "chunk"; data: Uint8Array; compressed: boolean } | { kind: "missing" };

/** How long a process may ignore SIGTERM before it gets SIGKILL. */
const KILL_GRACE_MS = 2000;

/** How long stderr is read on after the process exits (a child of it may hold it open). */
const STDERR_GRACE_MS = 500;

interface Pending {
  resolve(reply: Reply): void;
  reject(error: unknown): void;
}

/** The waiter of a request given up: its answer is still read, then dropped. */
const ABANDONED: Pending = { resolve: () => {}, reject: () => {} };

/** One ssh process speaking casync's protocol, with requests in flight. */
export class SshSession {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: MessageReader;
  readonly #store: string;
  readonly #closeTimeoutMs: number;
  readonly #timeoutMs: number;
  readonly #stderr: StderrTail;
  #exited = false;
  #escalation: ReturnType<typeof setTimeout> | undefined;
  readonly #asked = new Set<ChunkId>();
  /** Requests sent and not answered yet, by chunk ID. */
  readonly #pending = new Map<ChunkId, Pending>();
  /** Why the session broke, once it has: every later request fails with it. */
  #broken: unknown;
  /** Fires when the remote has been silent for the timeout while requests wait. */
  #silence: ReturnType<typeof setTimeout> | undefined;
  /**
   * Told when a slot frees that no request's end reports: an answer to a request
   * given up, or the session breaking. Requests waiting for a slot must hear of it.
   */
  readonly #onFreed: () => void;

  private constructor(
    store: string,
    child: Deno.ChildProcess,
    options: SshOptions,
    onFreed: () => void,
  ) {
    this.#store = store;
    this.#onFreed = onFreed;
    this.#child = child;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#writer = child.stdin.getWriter();
    this.#reader = new MessageReader(child.stdout);
    this.#stderr = new StderrTail(child.stderr);
    // If the process is made to exit, the ssh process must not outlive it.
    const cleanup = onForcedExit(() => this.#signal("SIGKILL"));
    child.status.then(() => {
      this.#exited = true;
      clearTimeout(this.#escalation);
      cleanup[Symbol.dispose]();
    });
  }

  /**
   * Starts ssh and waits for the remote's HELLO, no longer than the timeout
   * and not past an abort of `signal`. `onFreed`: see #onFreed.
   */
  static async start(
    store: string,
    location: SshLocation,
    options: SshOptions,
    signal?: AbortSignal,
    onFreed: () => void = () => {},
  ): Promise<SshSession> {
    // The store as casync's WSTORE, the three-dash form Go desync sends too: casync
    // serves reads from it, and Go desync's pull accepts no other.
    let child: Deno.ChildProcess;
    try {
      child = spawnSshPull(location, options, ["-", "-", "-", location.path]);
    } catch (error) {
      throw new StoreError(store, (error as Error).message, { cause: error });
    }
    const session = new SshSession(store, child, options, onFreed);
    try {
      await session.#bounded(session.#handshake(), "the handshake (ssh, then HELLO)", signal);
      return session;
    } catch (error) {
      session.kill();
      const explained = signal?.aborted ? signal.reason : await session.#explain(error);
      // Nothing else knows of this process: it must be gone before the error is.
      await session.exited();
      throw explained;
    }
  }

  async #handshake(): Promise<void> {
    await this.#send(encodeHello(Feature.PULL_CHUNKS));
    const hello = await this.#receive();
    if (hello.type !== MessageType.HELLO) throw this.#fail("the remote did not start with HELLO");
    const features = decodeHello(hello.body);
    if (!(features & Feature.READABLE_STORE)) {
      throw this.#fail("the remote offers no readable chunk store");
    }
  }

  /**
   * Waits for `work`, but not longer than the timeout nor past an abort of
   * `signal`: either kills the session, which ends `work` too.
   */
  async #bounded<T>(work: Promise<T>, what: string, signal?: AbortSignal): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const stopped = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(this.#fail(`${what}: no answer within ${formatMs(this.#timeoutMs)} (--timeout)`));
      }, this.#timeoutMs);
      if (!signal) return;
      onAbort = () => {
        this.kill();
        reject(signal.reason);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([work, stopped]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Whether this session was already asked for `id` (casync would not answer again). */
  asked(id: ChunkId): boolean {
    return this.#asked.has(id);
  }

  /** Requests sent and not answered yet, and those promised a slot (reserve). */
  get inFlight(): number {
    return this.#pending.size + this.#reserved;
  }

  /** Slots promised to requests about to be made, counted as in flight until they are. */
  #reserved = 0;

  /**
   * Holds a slot for the request for `id` the caller makes next: callers choosing a
   * session in the same turn must see it as taken (else all pick the same one).
   */
  reserve(id: ChunkId): void {
    this.#asked.add(id);
    this.#reserved++;
  }

  /** Whether the session failed (it can serve no more requests). */
  get broken(): boolean {
    return this.#broken !== undefined;
  }

  /**
   * Asks for one chunk. Requests may overlap: answers are matched by chunk ID.
   * While requests wait, the remote must say something within the timeout.
   */
  async request(id: ChunkId, signal?: AbortSignal): Promise<Reply> {
    if (this.#reserved > 0) this.#reserved--;
    if (this.#broken !== undefined) throw this.#broken;
    signal?.throwIfAborted();
    this.#asked.add(id);
    let cancel: (reason: unknown) => void = () => {};
    const reply = new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      cancel = reject;
    });
    // Only this request is given up: its answer, when it comes, is read and dropped, so the
    // session stays good for the others in flight. When every request waiting was given up
    // (the whole command stops), the session is ended at once.
    const onAbort = () => {
      if (this.#pending.has(id)) this.#pending.set(id, ABANDONED);
      cancel(signal!.reason);
      if ([...this.#pending.values()].every((waiter) => waiter === ABANDONED)) {
        this.#breakWith(signal!.reason);
      }
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (this.#pending.size === 1) this.#armSilence();
      if (!this.#reading) this.#readLoop();
      this.#queueRequest(id);
      return await reply;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof ChunkInvalid) throw error;
      const explained = await this.#explain(error);
      // casync checks chunks before sending them and quits with EBADMSG on a bad one.
      if (/Bad message/.test(this.#stderr.text)) {
        throw new ChunkInvalid(
          id,
          this.#store,
          `the remote casync rejected it: ${explained.detail}`,
        );
      }
      throw explained;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  #reading = false;
  /** REQUEST messages waiting to be written, one per chunk (Go desync's pull reads one ID each). */
  #outgoing: Uint8Array[] = [];

  /** Queues a REQUEST; those made in the same turn go out in one write. */
  #queueRequest(id: ChunkId) {
    this.#outgoing.push(encodeRequest([id]));
    if (this.#outgoing.length > 1) return;
    queueMicrotask(() => {
      const batch = this.#outgoing;
      this.#outgoing = [];
      const bytes = batch.length === 1 ? batch[0] : concatBytes(batch);
      this.#send(bytes).catch((error) => this.#breakWith(error));
    });
  }

  /** Reads answers while requests wait; stops when none does (an idle session reads nothing). */
  async #readLoop() {
    this.#reading = true;
    try {
      while (this.#pending.size > 0 && this.#broken === undefined) {
        const message = await this.#receive();
        this.#answer(message.type, message.body);
      }
    } catch (error) {
      this.#breakWith(error);
    } finally {
      this.#reading = false;
      if (this.#pending.size > 0 && this.#broken === undefined) this.#readLoop();
    }
  }

  #answer(type: bigint, body: Uint8Array) {
    if (type === MessageType.CHUNK) {
      const chunk = decodeChunk(body);
      const waiter = this.#take(chunk.id, "chunk");
      waiter.resolve({ kind: "chunk", data: chunk.data, compressed: chunk.compressed });
    } else if (type === MessageType.MISSING) {
      this.#take(decodeMissing(body), "MISSING").resolve({ kind: "missing" });
    } else if (type !== MessageType.INDEX_EOF && type !== MessageType.ARCHIVE_EOF) {
      throw this.#fail(`unexpected message type 0x${type.toString(16)}`);
    }
  }

  #take(id: ChunkId, what: string): Pending {
    const waiter = this.#pending.get(id);
    if (!waiter) throw this.#fail(`answered ${what} ${id}, which was not asked for`);
    this.#pending.delete(id);
    // Only an answer is a sign of life: messages that answer nothing must not hold requests forever.
    this.#armSilence();
    if (waiter === ABANDONED) this.#onFreed();
    return waiter;
  }

  /** (Re)starts the timer that kills a session whose remote stays silent while asked. */
  #armSilence() {
    clearTimeout(this.#silence);
    if (this.#pending.size === 0) return;
    this.#silence = setTimeout(() => {
      const ids = [...this.#pending.keys()];
      const others = ids.length > 1 ? `, with ${ids.length - 1} more requests waiting` : "";
      const silent = `no answer within ${formatMs(this.#timeoutMs)} (--timeout)${others}`;
      this.#breakWith(this.#fail(`the request for chunk ${ids[0]}: ${silent}`));
    }, this.#timeoutMs);
  }

  /** Fails every waiting request and kills the process: the session is done. */
  #breakWith(error: unknown) {
    if (this.#broken === undefined) this.#broken = error;
    clearTimeout(this.#silence);
    const waiting = [...this.#pending.values()];
    this.#pending.clear();
    for (const waiter of waiting) waiter.reject(this.#broken);
    this.kill();
    this.#onFreed();
  }

  /** Says GOODBYE, closes stdin and waits for the process; kills it if it lingers. */
  async close(): Promise<void> {
    // Armed first: a remote that stops reading would otherwise hold the GOODBYE write forever.
    const timer = setTimeout(() => this.kill(), this.#closeTimeoutMs);
    try {
      if (!this.#exited) {
        try {
          await this.#send(encodeMessage(MessageType.GOODBYE));
          await this.#writer.close();
        } catch {
          // The process is already gone; waiting below collects it.
        }
      }
      this.#reader.cancel();
      await this.exited();
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Resolves when the process has exited and its stderr is read, or after a
   * short grace when something the process started keeps stderr open.
   */
  async exited(): Promise<void> {
    await this.#child.status;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, STDERR_GRACE_MS));
    await Promise.race([this.#stderr.done, grace]);
    clearTimeout(timer);
    this.#stderr.cancel();
  }

  /** Ends the process: SIGTERM, and SIGKILL if it is still there after a grace. */
  kill(): void {
    if (this.#exited) return;
    this.#signal("SIGTERM");
    this.#escalation ??= setTimeout(() => this.#signal("SIGKILL"), KILL_GRACE_MS);
    this.#writer.close().catch(() => {});
    this.#reader.cancel();
  }

  #signal(signal: Deno.Signal) {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // already exited
    }
  }

  async #send(bytes: Uint8Array) {
    try {
      await this.#writer.write(bytes);
    } catch (error) {
      // A remote that exits while written to may end a read (EOF) or a write (EPIPE) first:
      // both say the same, whichever wins the race.
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
      throw new StoreError(this.#store, "the remote ended the session", { cause: error });
    }
  }

  async #receive() {
    const message = await this.#reader.next();
    if (!message) throw this.#fail("the remote ended the session");
    if (message.type === MessageType.ABORT) {
      const { reason } = decodeAbort(message.body);
      throw this.#fail(`the remote aborted: ${remoteText(reason)}`);
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
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#child.status, new Promise((r) => timer = setTimeout(r, 200))]);
    clearTimeout(timer);
    const said = lastRemoteLine(this.#stderr.text);
    return new StoreError(this.#store, said ? `${base} (remote said: ${said})` : base, {
      cause: error,
    });
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
