import type { Command } from "commander";
import { UsageError } from "../errors.ts";
import { indexInfo } from "../ops/info.ts";
import { resolveSeeds } from "../ops/seeds.ts";
import { SeedStore } from "../ops/seed_store.ts";
import { invalidSeedPolicy } from "./extract.ts";
import {
  addSeedOptions,
  collect,
  DEFAULT_CONCURRENCY,
  loadIndex,
  parseConcurrency,
  print,
  withRuntime,
  withStoreChain,
} from "./common.ts";

export function registerInfo(program: Command) {
  addSeedOptions(program.command("info"))
    .description("describe an index; with stores, how much of it they already hold")
    .argument("<index>", "index file, or - for stdin")
    .option("-s, --store <location>", "store to compare against (repeatable)", collect, [])
    .option("--format <format>", "plain or json", "plain")
    .option("-n, --concurrency <n>", "store lookups at once", parseConcurrency, DEFAULT_CONCURRENCY)
    .action(async (indexPath: string, opts, command: Command) => {
      if (opts.format !== "plain" && opts.format !== "json") {
        throw new UsageError(`--format must be plain or json, got "${opts.format}"`);
      }
      const invalidSeeds = invalidSeedPolicy(opts);
      const index = await loadIndex(indexPath, command);
      const seedList = await resolveSeeds({
        seeds: opts.seed,
        seedDirs: opts.seedDir,
        target: index,
        targetIndexPath: indexPath,
        invalidSeeds,
        readIndex: (location) => loadIndex(location, command),
      });
      const seedsOf = (codec: Parameters<typeof SeedStore.open>[2], signal: AbortSignal) =>
        seedList.length === 0
          ? undefined
          : SeedStore.open(seedList, index, codec, invalidSeeds, signal);
      const concurrency = opts.concurrency;
      const info = opts.store.length > 0
        ? await withStoreChain(
          command,
          [index],
          opts,
          async ({ store, signal, codec }) =>
            indexInfo(index, { store, seeds: await seedsOf(codec, signal), concurrency, signal }),
        )
        : seedList.length > 0
        ? await withRuntime(async ({ codec, signal }) =>
          indexInfo(index, { seeds: await seedsOf(codec, signal), concurrency, signal })
        )
        : await indexInfo(index);
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
      if (info.inSeeds && info.notInSeeds) {
        print(`in seeds: ${info.inSeeds.chunks} chunks, ${info.inSeeds.bytes} bytes`);
        print(`not in seeds: ${info.notInSeeds.chunks} chunks, ${info.notInSeeds.bytes} bytes`);
      }
    });
}
