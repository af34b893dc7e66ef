import type { Command } from "commander";
import { chop } from "../ops/chop.ts";
import { openWriteStore } from "../store/location.ts";
import {
  DEFAULT_CONCURRENCY,
  digestsOf,
  loadIndex,
  parseConcurrency,
  storeContext,
  withRuntime,
} from "./common.ts";

export function registerChop(program: Command) {
  program.command("chop")
    .description("cut a blob into the chunks its index names and store them")
    .argument("<index>", "index file, or - for stdin")
    .argument("<blob>", "the blob the index describes")
    .requiredOption("-s, --store <location>", "store to write the chunks to")
    .option("-n, --concurrency <n>", "chunks in flight", parseConcurrency, DEFAULT_CONCURRENCY)
    .action(async (indexPath: string, blob: string, opts, command: Command) => {
      const index = await loadIndex(indexPath, command);
      await withRuntime(async ({ codec, signal }) => {
        const store = await openWriteStore(
          opts.store,
          await storeContext(command, codec, digestsOf([index])),
        );
        try {
          await chop({ index, blob, store, codec, concurrency: opts.concurrency, signal });
        } finally {
          await store.close();
        }
      });
    });
}
