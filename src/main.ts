/**
 * desync: casync-compatible content-addressed distribution of large files.
 * The entry point starts the codec workers a command needs first, then loads
 * the command line (cli/program.ts) while they start.
 */
import { prewarmCodecPool, startsCodecWorkers } from "./cli/prewarm.ts";

if (import.meta.main) {
  if (startsCodecWorkers(Deno.args)) prewarmCodecPool();
  const { run } = await import("./cli/program.ts");
  Deno.exit(await run(Deno.args));
}
