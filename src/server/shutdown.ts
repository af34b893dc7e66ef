/**
 * Servers stop on SIGINT, SIGTERM or SIGHUP (the terminal went away): they stop
 * accepting, let requests in flight finish for a bounded time (an upload's
 * temporary file is then renamed or removed, not left), and the command exits 0.
 * (Kept here rather than in the commands' shared Ctrl-C handling, which turns a
 * signal into an interrupted, failed command.)
 */
const STOP_SIGNALS: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** Resolves with the signal that asked the server to stop; `dispose` removes the listeners. */
function stopSignal(): { signal: Promise<Deno.Signal>; dispose(): void } {
  const listeners: [Deno.Signal, () => void][] = [];
  const signal = new Promise<Deno.Signal>((resolve) => {
    for (const name of STOP_SIGNALS) {
      const listener = () => resolve(name);
      try {
        Deno.addSignalListener(name, listener);
        listeners.push([name, listener]);
      } catch {
        // Not every platform has every signal.
      }
    }
  });
  return {
    signal,
    dispose() {
      for (const [name, listener] of listeners) Deno.removeSignalListener(name, listener);
    },
  };
}

/** Runs a server until a stop signal, then `close`s it. */
export async function serveUntilStopped(
  announce: () => void,
  close: () => Promise<void>,
): Promise<void> {
  const stop = stopSignal();
  try {
    announce();
    await stop.signal;
    await close();
  } finally {
    stop.dispose();
  }
}
