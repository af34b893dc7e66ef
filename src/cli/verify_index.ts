import type { Command } from "commander";
import { verifyIndex } from "../ops/verify_index.ts";
import { DEFAULT_CONCURRENCY, loadIndex, parseConcurrency, withRuntime } from "./common.ts";

export function registerVerifyIndex(program: Command) {
  program.command("verify-index")
    .description("check that a blob matches an index; names the first chunk that does not")
    .argument("<index>", "index file, or - for stdin")
    .argument("<blob>", "the blob to check")
    .option("-n, --concurrency <n>", "chunks hashed at once", parseConcurrency, DEFAULT_CONCURRENCY)
    .action(async (indexPath: string, blob: string, opts, command: Command) => {
      const index = await loadIndex(indexPath, command);
      await withRuntime(({ codec, signal }) =>
        verifyIndex({ index, blob, codec, concurrency: opts.concurrency, signal })
      );
    });
}
