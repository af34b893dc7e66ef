import type { Command } from "commander";
import { extract } from "../ops/extract.ts";
import {
  addStoreOptions,
  DEFAULT_CONCURRENCY,
  loadIndex,
  parseConcurrency,
  withStoreChain,
} from "./common.ts";

export function registerExtract(program: Command) {
  addStoreOptions(
    program.command("extract")
      .description("assemble a blob from its index and chunk stores")
      .argument("<index>", "index file (.caibx), URL, or - for stdin")
      .argument("<output>", "file to write"),
  )
    .option("-n, --concurrency <n>", "chunks in flight", parseConcurrency, DEFAULT_CONCURRENCY)
    .action(async (indexPath: string, output: string, opts, command: Command) => {
      const index = await loadIndex(indexPath, command);
      await withStoreChain(
        command,
        [index],
        opts,
        ({ codec, signal, store }) =>
          extract({ index, store, output, codec, concurrency: opts.concurrency, signal }),
      );
    });
}
