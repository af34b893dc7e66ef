import type { Command } from "./args/mod.ts";
import { verifyIndex } from "../ops/verify_index.ts";
import { addCacheRepairOption, addConcurrencyOption, loadIndex, withRuntime } from "./common.ts";
import { document } from "./help.ts";

export function registerVerifyIndex(program: Command) {
  const command = program.command("verify-index")
    .description("check that a blob matches an index; names the first chunk that does not")
    .argument("<index>", "index file, URL, or - for stdin")
    .argument("<blob>", "the blob to check");
  addConcurrencyOption(command, "chunks hashed at once");
  addCacheRepairOption(command);
  document(command, {
    examples: [
      ["is image.img what image.caibx describes?", "desync verify-index image.caibx image.img"],
      [
        "against an index on a web server",
        "desync verify-index http://mirror/image.caibx /dev/sdb",
      ],
    ],
  });
  command.action(async (indexPath: string, blob: string, opts, command: Command) => {
    const index = await loadIndex(indexPath, command);
    await withRuntime(({ codec, signal }) =>
      verifyIndex({ index, blob, codec, concurrency: opts.concurrency, signal })
    );
  });
}
