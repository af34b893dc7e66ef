/**
 * desync: casync-compatible content-addressed distribution of large files.
 * The entry point starts the codec workers a command needs first, then loads
 * the command line (cli/program.ts) while they start.
 */
import { prewarmCodecPool } from "./cli/prewarm.ts";

if (import.meta.main) {
  prewarmCodecPool(Deno.args);
  const { run } = await import("./cli/program.ts");
  Deno.exit(await run(Deno.args));
}
