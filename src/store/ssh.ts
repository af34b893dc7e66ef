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
    const reply = await this.#withSession(id, (session) => session.request(id, signal), signal);
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
    const reply = await this.#withSession(id, (session) => session.request(id, signal), signal);
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
    const session = await this.#acquire(id, signal);
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

  async #acquire(id: ChunkId, signal?: AbortSignal): Promise<SshSession> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.#closed) throw new StoreError(this.name, "store closed");
      const fresh = this.#idle.findIndex((session) => !session.asked(id));
      if (fresh >= 0) return this.#idle.splice(fresh, 1)[0];
      const limit = Math.max(1, this.#options.ssh.sessions ?? 4);
      if (this.#all.size + this.#starting >= limit && this.#idle.length > 0) {
        // Every idle session was asked for this chunk already: retire one to make room.
        this.#retire(this.#idle.pop()!);
      }
      if (this.#all.size + this.#starting < limit) return await this.#start(signal);
      const next = await this.#wait(signal);
      if (next instanceof Error) throw next;
      if (!next.asked(id)) return next;
      this.#retire(next);
    }
  }

  /** Waits for a session another request releases, or for the signal. */
  #wait(signal?: AbortSignal): Promise<SshSession | Error> {
    return new Promise((resolve, reject) => {
      const waiter = (next: SshSession | Error) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(next);
      };
      const onAbort = () => {
        const at = this.#waiting.indexOf(waiter);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  async #start(signal?: AbortSignal): Promise<SshSession> {
    this.#starting++;
    try {
      const session = await SshSession.start(this.name, this.#location, this.#options.ssh, signal);
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
