/**
 * Closes keep-alive connections left idle longer than the timeout. Node's own
 * keep-alive timeout re-arms a timer after every response, which in Deno 2.9
 * costs about 3 µs per request (a tenth of a chunk server's own time); a sweep
 * over the open connections a few times per timeout does the same job.
 */
import type net from "node:net";

/** What the sweep knows of one connection. */
interface ConnectionUse {
  /** Requests on it whose responses have not closed yet. */
  active: number;
  /** When it last became idle (ms since the epoch). */
  since: number;
  /** Its bytes read at the last sweep: a change means a next request is arriving. */
  bytesRead: number;
}

const USE = Symbol("connection use");
type Tracked = net.Socket & { [USE]?: ConnectionUse };

export class IdleConnections {
  readonly #timeoutMs: number;
  readonly #sockets = new Set<Tracked>();
  readonly #timer: ReturnType<typeof setInterval>;

  /** Checks every `intervalMs`, so a connection closes `timeoutMs` to `timeoutMs + intervalMs` idle. */
  constructor(timeoutMs: number, intervalMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#timer = setInterval(() => this.#sweep(), intervalMs);
  }

  /** A request has arrived on `socket`; pass the result to `end` when its response has closed. */
  begin(socket: net.Socket): ConnectionUse {
    const tracked = socket as Tracked;
    let use = tracked[USE];
    if (use === undefined) {
      use = tracked[USE] = { active: 0, since: 0, bytesRead: 0 };
      this.#sockets.add(tracked);
    }
    use.active++;
    return use;
  }

  end(use: ConnectionUse) {
    if (--use.active === 0) use.since = Date.now();
  }

  /** Stops sweeping (the server has stopped). */
  stop() {
    clearInterval(this.#timer);
  }

  #sweep() {
    const now = Date.now();
    for (const socket of this.#sockets) {
      const use = socket[USE]!;
      if (socket.destroyed) {
        this.#sockets.delete(socket);
      } else if (use.active === 0) {
        const read = socket.bytesRead;
        if (read !== use.bytesRead) {
          // A next request is arriving: from here the headers timeout applies.
          use.bytesRead = read;
          use.since = now;
        } else if (now - use.since >= this.#timeoutMs) {
          socket.destroy();
          this.#sockets.delete(socket);
        }
      }
    }
  }
}
