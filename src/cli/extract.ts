import type { Command } from "commander";
import { extract } from "../ops/extract.ts";
import { openStoreChain } from "../store/location.ts";
import {
  collect,
  DEFAULT_CONCURRENCY,
  digestsOf,
  loadIndex,
  parseConcurrency,
  storeContext,
  withRuntime,
} from "./common.ts";

export function registerExtract(program: Command) {
  program.command("extract")
    .description("assemble a blob from its index and chunk stores")
    .argument("<index>", "index file (.caibx), or - for stdin")
    .argument("<output>", "file to write")
    .option("-s, --store <location>", "chunk store (repeatable, tried in order)", collect, [])
    .option("-c, --cache <location>", "writable cache store, consulted first and filled on misses")
    .option("-n, --concurrency <n>", "chunks in flight", parseConcurrency, DEFAULT_CONCURRENCY)
    .action(async (indexPath: string, output: string, opts, command: Command) => {
      const index = await loadIndex(indexPath, command);
      await withRuntime(async ({ codec, signal }) => {
        const store = await openStoreChain(
          opts.store,
          opts.cache,
          await storeContext(command, codec, digestsOf([index])),
        );
        try {
          await extract({ index, store, output, codec, concurrency: opts.concurrency, signal });
        } finally {
          await store.close();
        }
      });
    });
}
