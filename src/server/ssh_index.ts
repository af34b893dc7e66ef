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
import { spawnSshPull, type SshLocation } from "../store/ssh_location.ts";

/** The index's bytes, or undefined when the remote has no such file. */
export async function readIndexOverSsh(
  location: SshLocation,
  options: SshOptions,
  limits: { maxBytes: number; timeoutMs: number },
): Promise<Uint8Array | undefined> {
  let child: Deno.ChildProcess;
  try {
    child = spawnSshPull(location, options, ["-", "-", location.path, "-"]);
  } catch (error) {
    throw new DesyncError((error as Error).message, { cause: error });
  }
  const stderr = new Response(child.stderr).text().catch(() => "");
  const writer = child.stdin.getWriter();
  const reader = new MessageReader(child.stdout);
  const timer = setTimeout(() => kill(child), limits.timeoutMs);
  try {
    await writer.write(encodeHello(Feature.PULL_INDEX));
    const parts: Uint8Array[] = [];
    let size = 0;
    for (let first = true;; first = false) {
      const message = await reader.next();
      if (!message) {
        // The remote quit: casync and our pull both say why on stderr, e.g. a missing file.
        await child.status;
        const said = (await stderr).trim().split("\n").filter(Boolean).at(-1) ?? "";
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
    await writer.close().catch(() => {});
    reader.cancel();
    const ended = await Promise.race([
      child.status.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000)),
    ]);
    if (!ended) kill(child);
    await child.status;
    await stderr;
  }
}

function kill(child: Deno.ChildProcess) {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
}
