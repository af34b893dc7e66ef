/**
 * A chunk server on several threads: each thread runs its own server (own store
 * chain and codec worker) on the same addresses with SO_REUSEPORT, and the
 * kernel spreads connections over them. The main thread's server listens first,
 * so port 0 resolves to one port that the others then share.
 */
import { DesyncError } from "../errors.ts";
import type { ChunkServer, ChunkServerOptions } from "./chunk_server.ts";
import type { StoreContext } from "../store/location.ts";
import { groupMembers } from "../store/failover.ts";
import type { StoreSettings } from "../store/settings.ts";
import { isS3Location, type S3Auth } from "../store/s3_client.ts";

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

export type ThreadReply = { kind: "ready" } | { kind: "failed"; message: string } | {
  kind: "stopped";
};

/** Starts `threads - 1` more servers beside `main`, on the ports `main` listens on. */
export async function addServerThreads(
  main: ChunkServer,
  options: ChunkServerOptions,
  context: ThreadContext,
  threads: number,
): Promise<ChunkServer> {
  const listen = main.urls.map((url) => {
    const { hostname, port } = new URL(url);
    return { hostname: hostname.replace(/^\[|\]$/g, ""), port: Number(port) };
  });
  const workers: Worker[] = [];
  const stopAll = async () => {
    await Promise.all(workers.map((worker) => ask(worker, { kind: "stop" }, "stopped")));
    for (const worker of workers) worker.terminate();
  };
  try {
    for (let i = 1; i < threads; i++) {
      const worker = new Worker(new URL("./chunk_server_thread.ts", import.meta.url), {
        type: "module",
      });
      workers.push(worker);
      await ask(worker, {
        kind: "start",
        options: { ...options, listen, reusePort: true },
        context,
      }, "ready");
    }
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
  return {
    urls: main.urls,
    async stop() {
      await Promise.all([stopAll(), main.stop()]);
    },
    async close() {
      await Promise.all([stopAll(), main.close()]);
    },
  };
}

function ask(worker: Worker, message: ThreadMessage, want: ThreadReply["kind"]): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<ThreadReply>) => {
      if (event.data.kind === want) resolve();
      else if (event.data.kind === "failed") reject(new DesyncError(event.data.message));
    };
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new DesyncError(`server thread failed: ${event.message}`));
    };
    worker.postMessage(message);
  });
}
