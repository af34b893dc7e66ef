/**
 * A chunk server on several threads: each thread runs its own server (own store
 * chain and codec worker) on the same addresses with SO_REUSEPORT, and the
 * kernel spreads connections over them. The main thread's server listens first,
 * so port 0 resolves to one port that the others then share.
 */
import { DesyncError } from "../errors.ts";
import type { ChunkServer, ChunkServerOptions } from "./chunk_server.ts";
import type { StoreContext } from "../store/location.ts";

/** What a server thread needs to open its own store chain (no codec pool: it makes one). */
export type ThreadContext = Omit<StoreContext, "codec">;

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
