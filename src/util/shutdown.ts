/**
 * Stopping on SIGINT, SIGTERM and SIGHUP. The first signal aborts the command's
 * AbortSignal, so every blocking await unwinds and the `finally` blocks clean up
 * (temporary files, ssh processes). A second signal, or a command that has not
 * unwound within a grace period, runs the registered last-resort cleanups
 * synchronously and exits at once with the signal's exit code.
 */
import { Interrupted, STOP_SIGNALS, type StopSignal } from "../errors.ts";

const cleanups = new Set<() => void>();

/**
 * Registers a synchronous cleanup to run if the process is made to exit before
 * the code that owns the resource could clean up itself. Dispose it once the
 * resource is gone.
 */
export function onForcedExit(cleanup: () => void): Disposable {
  cleanups.add(cleanup);
  return { [Symbol.dispose]: () => void cleanups.delete(cleanup) };
}

/** Runs (and forgets) every registered cleanup; one failing does not stop the others. */
export function runForcedExitCleanups(): void {
  const pending = [...cleanups];
  cleanups.clear();
  for (const cleanup of pending) {
    try {
      cleanup();
    } catch {
      // Best effort: the process is about to exit.
    }
  }
}

/** How long a stopped command may take to unwind before it is made to exit. */
export const GRACE_MS = 5_000;

/**
 * Calls `onStop` on the first stop signal; from then on a second signal, or
 * `graceMs` without the returned release function being called, ends the
 * process after the forced-exit cleanups. Returns the release function, which
 * restores the default signal handling.
 */
export function trapStopSignals(
  onStop: (error: Interrupted) => void,
  graceMs = GRACE_MS,
): () => void {
  let stopped: Interrupted | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const installed: [StopSignal, () => void][] = [];
  const forceExit = (error: Interrupted) => {
    runForcedExitCleanups();
    console.error(`desync: ${error.message}`);
    Deno.exit(error.exitCode);
  };
  for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) {
    const listener = () => {
      if (stopped) return forceExit(new Interrupted(signal));
      stopped = new Interrupted(signal);
      const grace = setTimeout(() => forceExit(stopped!), graceMs);
      // The timer must not keep a command that did unwind from exiting.
      Deno.unrefTimer(grace);
      timer = grace;
      onStop(stopped);
    };
    try {
      Deno.addSignalListener(signal, listener);
      installed.push([signal, listener]);
    } catch {
      // Not every platform has every signal (Windows has no SIGHUP); those keep their default.
    }
  }
  return () => {
    clearTimeout(timer);
    for (const [signal, listener] of installed.splice(0)) {
      Deno.removeSignalListener(signal, listener);
    }
  };
}
