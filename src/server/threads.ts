/**
 * A chunk server on threads: each thread runs its own server (own store chain
 * and codec worker) on the same addresses with SO_REUSEPORT, and the kernel
 * spreads connections over them. The first thread listens first, so port 0
 * resolves to one port that the others then share. The main thread only starts
 * and stops them.
 *
 * The threads are node:worker_threads Workers because only these take V8 heap
 * limits: a server allocates a few KiB of short-lived objects per request, and
 * V8 grows a busy thread's young generation to its 48 MiB maximum (the main
 * thread's cannot be limited), where a few MiB serve as fast and stay in the
 * CPU's caches.
 */
import { SHARE_ENV, Worker } from "node:worker_threads";
import { DesyncError } from "../errors.ts";
import type { ChunkServer, ChunkServerOptions } from "./chunk_server.ts";
import { DEFAULT_LIMITS, type ListenAddress } from "./http_server.ts";
import type { StoreContext } from "../store/location.ts";
import { groupMembers } from "../store/failover.ts";
import type { StoreSettings } from "../store/settings.ts";
import type { S3Auth } from "../store/s3_client.ts";
import { isS3Location } from "../store/s3_location.ts";

/**
 * What a server thread needs to open its own store chain (no codec pool: it
 * makes one). Messages carry no functions, so the per-location settings and
 * S3 credentials travel resolved, for the locations the server opens.
 */
export type ThreadContext = Omit<StoreContext, "codec" | "settingsFor" | "s3Auth"> & {
  settings: [string, StoreSettings][];
  s3Auth: [string, S3Auth][];
};

/** Resolves a context's per-location functions for `locations` (and their group members). */
export async function threadContext(
  context: Omit<StoreContext, "codec">,
  locations: readonly string[],
): Promise<ThreadContext> {
  const { settingsFor, s3Auth, ...plain } = context;
  const members = [...new Set(locations.flatMap(groupMembers))];
  const settings: [string, StoreSettings][] = [];
  const auth: [string, S3Auth][] = [];
  for (const location of members) {
    if (settingsFor) settings.push([location, await settingsFor(location)]);
    if (s3Auth && isS3Location(location)) auth.push([location, await s3Auth(location)]);
  }
  return { ...plain, settings, s3Auth: auth };
}

/** The StoreContext (less the codec) a thread rebuilds from a ThreadContext. */
export function storeContextOf(context: ThreadContext): Omit<StoreContext, "codec"> {
  const { settings, s3Auth, ...plain } = context;
  const settingsMap = new Map(settings);
  const authMap = new Map(s3Auth);
  return {
    ...plain,
    settingsFor: settings.length
      ? (location) => {
        const found = settingsMap.get(location);
        if (!found) throw new DesyncError(`no settings for store ${location} in this thread`);
        return Promise.resolve(found);
      }
      : undefined,
    s3Auth: s3Auth.length
      ? (location) => Promise.resolve(authMap.get(location) ?? { region: "us-east-1" })
      : undefined,
  };
}

export type ThreadMessage =
  | { kind: "start"; options: ChunkServerOptions; context: ThreadContext }
  | { kind: "stop" };

export type ThreadReply =
  | { kind: "ready"; urls: string[] }
  /** How the server failed to start: what the main thread rethrows. */
  | { kind: "failed"; message: string; exitCode: number; notCapable: boolean }
  | { kind: "stopped" };

/** A server thread's start-up failure, with the exit code its error had there. */
export class ServerThreadError extends DesyncError {
  override readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** How long past the drain timeout a stopping thread has to close its stores. */
const STOP_GRACE_MS = 5_000;

/** The young generation (two semi-spaces and new large objects) of each thread. */
const YOUNG_GENERATION_MIB = 6;

/** Starts `threads` servers on `options.listen`. */
export async function startServerThreads(
  options: ChunkServerOptions,
  context: ThreadContext,
  threads: number,
): Promise<ChunkServer> {
  // The threads still running: one that has ended would never answer.
  const workers = new Set<Worker>();
  // A thread drains for up to the drain timeout, then closes its stores: one that has not
  // answered a few seconds later (a store's close hanging) is ended all the same.
  const stopLimitMs = (options.limits?.drainTimeoutMs ?? DEFAULT_LIMITS.drainTimeoutMs) +
    STOP_GRACE_MS;
  const stopAll = async () => {
    const running = [...workers];
    await Promise.all(
      running.map((worker) =>
        ask(worker, { kind: "stop" }, stopLimitMs).catch((error) => {
          // One that has ended already needs no word.
          if (error instanceof NoAnswer) console.error(`desync: chunk-server: ${error.message}`);
        })
      ),
    );
    await Promise.all(running.map((worker) => worker.terminate()));
  };
  let urls: string[] = [];
  try {
    for (let i = 0; i < Math.max(1, threads); i++) {
      const worker = new Worker(new URL("./chunk_server_thread.ts", import.meta.url), {
        // Not a copy of the environment: that would need to read all of it.
        env: SHARE_ENV,
        resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MIB },
      });
      workers.add(worker);
      worker.once("exit", () => workers.delete(worker));
      const listen = i === 0 ? options.listen : urls.map(addressOf);
      const reply = await ask(worker, {
        kind: "start",
        options: { ...options, listen, reusePort: threads > 1 },
        context,
      });
      if (reply.kind === "failed") {
        throw reply.notCapable
          ? new Deno.errors.NotCapable(reply.message)
          : new ServerThreadError(reply.message, reply.exitCode);
      }
      if (reply.kind === "ready" && i === 0) urls = reply.urls;
      // A thread that fails later must not take the others down with it.
      worker.on("error", (error) => {
        console.error(`desync: chunk-server: a server thread failed: ${error.message}`);
      });
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  return { urls, stop: stopAll, close: stopAll };
}

function addressOf(url: string): ListenAddress {
  const { hostname, port } = new URL(url);
  return { hostname: hostname.replace(/^\[|\]$/g, ""), port: Number(port) };
}

/** A thread that did not answer in time (it is terminated). */
class NoAnswer extends DesyncError {}

/** Sends `message` and waits for the thread's answer (for `timeoutMs` at most, when given). */
function ask(worker: Worker, message: ThreadMessage, timeoutMs?: number): Promise<ThreadReply> {
  return new Promise((resolve, reject) => {
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      settle(() => reject(new NoAnswer(`a server thread did not answer within ${timeoutMs} ms`)));
    }, timeoutMs);
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      worker.off("message", onMessage).off("error", onError).off("exit", onExit);
      outcome();
    };
    const onMessage = (reply: ThreadReply) => settle(() => resolve(reply));
    const onError = (error: Error) => {
      settle(() => reject(new DesyncError(`server thread failed: ${error.message}`)));
    };
    const onExit = (code: number) => {
      settle(() => reject(new DesyncError(`server thread ended (exit code ${code})`)));
    };
    worker.on("message", onMessage).on("error", onError).on("exit", onExit);
    worker.postMessage(message);
  });
}
