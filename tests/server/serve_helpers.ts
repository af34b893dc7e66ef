/** Running our servers as the user does: a subprocess with the README's flags. */
import { MAIN } from "../helpers.ts";

export interface ServerProcess {
  /** The first URL it announced. */
  url: string;
  /** Sends `signal` and waits: the exit code and everything it said on stderr. */
  stop(signal?: Deno.Signal): Promise<{ code: number; stderr: string }>;
}

/** Starts `desync <args>` and waits for its "listening on" line. */
export async function startServerProcess(
  args: string[],
  permissions: readonly string[],
  env?: Record<string, string>,
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...permissions, MAIN, ...args],
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const decoder = new TextDecoder();
  const reader = child.stderr.getReader();
  let url: string | undefined;
  const deadline = Date.now() + 15_000;
  while (!url && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += decoder.decode(value, { stream: true });
    url = /listening on (\S+)/.exec(stderr)?.[1];
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      stderr += decoder.decode(value, { stream: true });
    }
  })();
  if (!url) {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone already
    }
    await child.status;
    await rest;
    throw new Error(`desync ${args.join(" ")} did not start: ${stderr}`);
  }
  return {
    url,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // gone already
      }
      const { code } = await child.status;
      await rest;
      return { code, stderr };
    },
  };
}
