/**
 * Reading an index file over SSH with casync's protocol, as casync does for
 * `host:/path/x.caibx`: run `ssh HOST casync pull - - PATH -`, ask for the index
 * (HELLO with PULL_INDEX), collect INDEX messages up to INDEX_EOF, say GOODBYE.
 * The remote may be casync or this tool's `pull`.
 */
import { DesyncError } from "../errors.ts";
import {
  decodeAbort,
  decodeHello,
  encodeHello,
  encodeMessage,
  Feature,
  MessageReader,
  MessageType,
} from "../protocol/messages.ts";
import { concatBytes } from "../util/bytes.ts";
import type { SshOptions } from "../store/ssh.ts";
import {
  lastRemoteLine,
  spawnSshPull,
  type SshLocation,
  StderrTail,
} from "../store/ssh_location.ts";

/** The index's bytes, or undefined when the remote has no such file. */
export async function readIndexOverSsh(
  location: SshLocation,
  options: SshOptions,
  limits: { maxBytes: number; timeoutMs: number },
  signal?: AbortSignal,
): Promise<Uint8Array | undefined> {
  signal?.throwIfAborted();
  let child: Deno.ChildProcess;
  try {
    child = spawnSshPull(location, options, ["-", "-", location.path, "-"]);
  } catch (error) {
    throw new DesyncError((error as Error).message, { cause: error });
  }
  const stderrTail = new StderrTail(child.stderr);
  // A grandchild (an ssh control master, say) may hold stderr open: waited for 1 s at most.
  const stderr = async () => {
    await settleWithin(stderrTail.done, 1000, undefined);
    stderrTail.cancel(); // no read left pending on a pipe a grandchild keeps open
    return stderrTail.text;
  };
  const writer = child.stdin.getWriter();
  const reader = new MessageReader(child.stdout);
  let timedOut = false;
  // Stopping also ends the wait for the next message, whatever the process does.
  const timer = setTimeout(() => {
    timedOut = true;
    stop(child);
    reader.cancel();
  }, limits.timeoutMs);
  const onAbort = () => {
    stop(child);
    reader.cancel();
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await writer.write(encodeHello(Feature.PULL_INDEX));
    const parts: Uint8Array[] = [];
    let size = 0;
    for (let first = true;; first = false) {
      const message = await reader.next().catch((error) => {
        if (timedOut || signal?.aborted) return undefined; // said below
        throw error;
      });
      if (signal?.aborted) throw signal.reason;
      if (timedOut) throw new DesyncError(`no index within ${limits.timeoutMs} ms`);
      if (!message) {
        // The remote quit: casync and our pull both say why on stderr, e.g. a missing file.
        await exitsWithin(child, 5000);
        const said = lastRemoteLine(await stderr()) ?? "";
        if (/no such file/i.test(said)) return undefined;
        throw new DesyncError(
          `the remote ended the session${said ? ` (remote said: ${said})` : ""}`,
        );
      }
      if (first) {
        if (message.type !== MessageType.HELLO) {
          throw new DesyncError("the remote did not start with HELLO");
        }
        if (!(decodeHello(message.body) & Feature.READABLE_INDEX)) {
          throw new DesyncError("the remote offers no index");
        }
        continue;
      }
      if (message.type === MessageType.INDEX) {
        size += message.body.length;
        if (size > limits.maxBytes) throw new DesyncError(`index over ${limits.maxBytes} bytes`);
        parts.push(message.body);
      } else if (message.type === MessageType.INDEX_EOF) {
        await writer.write(encodeMessage(MessageType.GOODBYE)).catch(() => {});
        return concatBytes(parts);
      } else if (message.type === MessageType.ABORT) {
        throw new DesyncError(`the remote aborted: ${decodeAbort(message.body).reason}`);
      } else {
        throw new DesyncError(`unexpected message type 0x${message.type.toString(16)}`);
      }
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    await writer.close().catch(() => {});
    reader.cancel();
    // 5 s to exit after GOODBYE (none when it was already told to stop), then SIGTERM, then
    // SIGKILL: never waited on for good.
    const graceMs = timedOut || signal?.aborted ? 0 : 5000;
    if (!graceMs || !await exitsWithin(child, graceMs)) {
      stop(child);
      if (!await exitsWithin(child, 2000)) {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
    }
    await child.status;
    await stderr();
  }
}

/** Whether the process exits within `ms`. */
function exitsWithin(child: Deno.ChildProcess, ms: number): Promise<boolean> {
  return settleWithin(child.status.then(() => true), ms, false);
}

/** The promise's value, or `otherwise` after `ms` (the timer does not outlive the answer). */
async function settleWithin<T>(promise: Promise<T>, ms: number, otherwise: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<T>((resolve) => timer = setTimeout(() => resolve(otherwise), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function stop(child: Deno.ChildProcess) {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
}
