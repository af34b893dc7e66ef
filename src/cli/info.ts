import type { Command } from "commander";
import { UsageError } from "../errors.ts";
import { indexInfo } from "../ops/info.ts";
import {
  collect,
  DEFAULT_CONCURRENCY,
  loadIndex,
  parseConcurrency,
  print,
  withStoreChain,
} from "./common.ts";

export function registerInfo(program: Command) {
  program.command("info")
    .description("describe an index; with stores, how much of it they already hold")
    .argument("<index>", "index file, or - for stdin")
    .option("-s, --store <location>", "store to compare against (repeatable)", collect, [])
    .option("--format <format>", "plain or json", "plain")
    .option("-n, --concurrency <n>", "store lookups at once", parseConcurrency, DEFAULT_CONCURRENCY)
    .action(async (indexPath: string, opts, command: Command) => {
      if (opts.format !== "plain" && opts.format !== "json") {
        throw new UsageError(`--format must be plain or json, got "${opts.format}"`);
      }
      const index = await loadIndex(indexPath, command);
      const info = opts.store.length === 0
        ? await indexInfo(index)
        : await withStoreChain(command, [index], opts, ({ store, signal }) =>
          indexInfo(index, { store, concurrency: opts.concurrency, signal }));
      if (opts.format === "json") {
        print(JSON.stringify(info, null, 2));
        return;
      }
      print(`size: ${info.size}`);
      print(`chunks: ${info.chunks}`);
      print(`unique chunks: ${info.uniqueChunks}`);
      print(`digest: ${info.digest}`);
      print(`feature flags: ${info.featureFlags}`);
      print(`chunk size (index): ${info.chunkSizeMin}:${info.chunkSizeAvg}:${info.chunkSizeMax}`);
      print(
        `chunk size (actual): ${info.actualChunkSizeMin}:${info.actualChunkSizeAvg}:` +
          `${info.actualChunkSizeMax}`,
      );
      if (info.inStore && info.toFetch) {
        print(`in store: ${info.inStore.chunks} chunks, ${info.inStore.bytes} bytes`);
        print(`to fetch: ${info.toFetch.chunks} chunks, ${info.toFetch.bytes} bytes`);
      }
    });
}
