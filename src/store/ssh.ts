/**
 * A chunk store reached over SSH, spoken to with casync's protocol. Like casync,
 * it runs `${CASYNC_SSH_PATH:-ssh} [-p PORT] [USER@]HOST ${CASYNC_REMOTE_PATH:-casync}
 * pull - - - PATH` (Go desync's form; casync serves reads from a store given there)
 * and exchanges framed messages on the process's stdin/stdout.
 * Each process serves up to SESSION_DEPTH requests in flight (the remote
 * queues them, so it is never idle waiting for the next); another is started,
 * up to `sessions`, only when every one is full: each costs an SSH handshake
 * and a remote casync, and on a busy machine more sessions were slower, not faster.
 * casync answers a chunk at most once per session (it drops repeated
 * requests), so a session is never asked twice for the same chunk: another or
 * a fresh one is. On close every session gets GOODBYE and its process is
 * waited for (or killed).
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { ChunkMissing, StoreError } from "../errors.ts";
import { parseSshLocation, type SshLocation } from "./ssh_location.ts";
import { SshSession } from "./ssh_session.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import type { Digest } from "../format/index.ts";
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
  /**
   * How long the handshake (ssh connecting, the remote's HELLO) and each
   * request may take before the session is killed and the request fails.
   */
  timeoutMs?: number;
}

export const DEFAULT_SSH_OPTIONS: SshOptions = { sshPath: "ssh", remotePath: "casync" };

export interface SshStoreOptions {
  codec: CodecPool;
  digests: readonly Digest[];
  ssh: SshOptions;
}

/**
 * Requests one session keeps in flight at most. 128 MiB from casync behind sshd on
 * two cores (/var/tmp on tmpfs): one session with 16 in flight 1.18-1.31 s (casync
 * itself 1.1 s); with 32 or 64, 1.22-1.40 s; four sessions of 4 each, as before, 1.58 s.
 */
const SESSION_DEPTH = 16;

export class SshStore implements RawChunkStore {
  readonly name: string;
  readonly pipelineDepth = SESSION_DEPTH;
  readonly #location: SshLocation;
  readonly #options: SshStoreOptions;
  readonly #sessions = new Set<SshSession>();
  /** Woken when a request ends or a session starts or ends: a slot may be free. */
  #waiting: (() => void)[] = [];
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
    const reply = await this.#request(id, signal);
    if (reply.kind === "missing") throw new ChunkMissing(id, this.name);
    // The payload is a view into the message's own buffer: it may be moved to a worker.
    return { data: reply.data, compressed: reply.compressed, ownsBuffer: true };
  }

  async getChunk(id: ChunkId, signal?: AbortSignal): Promise<Chunk> {
    const raw = await this.getRawChunk(id, signal);
    const { codec, digests } = this.#options;
    return await decodeStoredChunk(codec, this.name, id, digests, raw);
  }

  /** casync's protocol has no "has": the chunk is requested and its data dropped. */
  async hasChunk(id: ChunkId, signal?: AbortSignal): Promise<boolean> {
    return (await this.#request(id, signal)).kind === "chunk";
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wake();
    await Promise.allSettled([...this.#sessions].map((session) => session.close()));
    await Promise.allSettled(this.#retiring);
    this.#sessions.clear();
  }

  async #request(id: ChunkId, signal?: AbortSignal) {
    const session = await this.#acquire(id, signal);
    try {
      return await session.request(id, signal);
    } finally {
      if (session.broken) this.#discard(session);
      this.#wake();
    }
  }

  /** A session with room for a request and not yet asked for `id`; starts one when all are full. */
  async #acquire(id: ChunkId, signal?: AbortSignal): Promise<SshSession> {
    const limit = Math.max(1, this.#options.ssh.sessions ?? 4);
    for (;;) {
      signal?.throwIfAborted();
      if (this.#closed) throw new StoreError(this.name, "store closed");
      let best: SshSession | undefined;
      for (const session of this.#sessions) {
        // One that broke with no request of its own left to drop it would hold its place for good.
        if (session.broken) this.#discard(session);
        if (session.broken || session.asked(id) || session.inFlight >= SESSION_DEPTH) continue;
        if (!best || session.inFlight < best.inFlight) best = session;
      }
      if (best) {
        best.reserve(id);
        return best;
      }
      const room = this.#sessions.size + this.#starting < limit;
      // One session starts at a time: the requests waiting meanwhile may fill it.
      if (room && this.#starting === 0) {
        const started = await this.#start(signal);
        if (!started.asked(id) && started.inFlight < SESSION_DEPTH) {
          started.reserve(id);
          return started;
        }
        continue;
      }
      if ([...this.#sessions].every((session) => session.asked(id))) {
        // Every session was asked for this chunk already: retire the least busy for a fresh one.
        const idle = [...this.#sessions].sort((a, b) => a.inFlight - b.inFlight)[0];
        if (idle && idle.inFlight === 0) {
          this.#retire(idle);
          continue;
        }
      }
      await this.#wait(signal);
    }
  }

  /** Waits until a request ends or a session changes, or for the signal. */
  #wait(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiting = this.#waiting.filter((other) => other !== waiter);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  #wake() {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const waiter of waiting) waiter();
  }

  async #start(signal?: AbortSignal): Promise<SshSession> {
    this.#starting++;
    try {
      const session = await SshSession.start(
        this.name,
        this.#location,
        this.#options.ssh,
        signal,
        () => this.#wake(),
      );
      if (this.#closed) {
        await session.close();
        throw new StoreError(this.name, "store closed");
      }
      this.#sessions.add(session);
      return session;
    } finally {
      this.#starting--;
      this.#wake();
    }
  }

  /** Closes a healthy session in the background (close() waits for it). */
  #retire(session: SshSession) {
    this.#sessions.delete(session);
    this.#track(session.close());
  }

  /** Drops a session that failed or was interrupted; close() waits for its process. */
  #discard(session: SshSession) {
    if (!this.#sessions.delete(session)) return;
    session.kill();
    this.#track(session.exited());
  }

  #track(ending: Promise<void>) {
    const tracked: Promise<void> = ending.catch(() => {}).finally(() =>
      this.#retiring.delete(tracked)
    );
    this.#retiring.add(tracked);
  }
}
