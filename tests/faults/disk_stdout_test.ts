/**
 * Standard output redirected to a full disk (`desync … > /full/file`): every
 * command that writes there fails with one line naming standard output and
 * the write, not the bare OS message.
 */
import { MAIN } from "../helpers.ts";
import { assertFailure, type Fixture, FLAGS, type Run } from "./harness.ts";
import { fill, NO_SPACE, tmpfsTest } from "./tmpfs.ts";

const COMMANDS: Record<string, (f: Fixture) => string[]> = {
  cat: (f) => ["cat", "-s", f.store, f.index],
  "list-chunks": (f) => ["list-chunks", f.index],
  chunk: (f) => ["chunk", f.blob],
  info: (f) => ["info", f.index],
  "make -": (f) => ["make", "-", f.blob],
  "tar -": (f) => ["tar", "-", `${f.dir}/store`],
  "inspect-chunks": (f) => ["inspect-chunks", f.index],
  config: () => ["config"],
};

/** Runs the CLI with its standard output redirected to `path` (by sh: Deno cannot pass a file). */
async function runToFile(args: string[], path: string): Promise<Run> {
  const started = performance.now();
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      'out=$1; shift; exec "$@" > "$out"',
      "sh",
      path,
      Deno.execPath(),
      "run",
      "--quiet",
      ...FLAGS.local,
      MAIN,
      ...args,
    ],
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  return {
    code: out.code,
    signal: out.signal,
    stdout: "",
    stderr: new TextDecoder().decode(out.stderr),
    peakMiB: 0,
    ms: performance.now() - started,
  };
}

for (const [name, args] of Object.entries(COMMANDS)) {
  tmpfsTest(`${name} to a full disk on stdout names standard output`, {
    size: "256k",
  }, async (f, small) => {
    await fill(small);
    const run = await runToFile(args(f), `${small}/out`);
    assertFailure(run, new RegExp(`^desync: standard output: cannot write: ${NO_SPACE}$`));
  });
}
