import type { Command } from "commander";
import { fillCache } from "../ops/cache.ts";
import { openWriteStore } from "../store/location.ts";
import {
  collect,
  DEFAULT_CONCURRENCY,
  loadIndex,
  parseConcurrency,
  withStoreChain,
} from "./common.ts";

export function registerCache(program: Command) {
  program.command("cache")
    .description("fill a cache store with every chunk of the given indexes")
    .argument("<index...>", "index files or URLs")
    .option("-s, --store <location>", "chunk store (repeatable, tried in order)", collect, [])
    .requiredOption("-c, --cache <location>", "cache store to fill")
    .option("-n, --concurrency <n>", "chunks in flight", parseConcurrency, DEFAULT_CONCURRENCY)
    .action(async (indexPaths: string[], opts, command: Command) => {
      const indexes = await Promise.all(indexPaths.map((path) => loadIndex(path, command)));
      // Fetch from the -s stores only: the -c store is the target here, not a cache in front.
      const sources = { store: opts.store };
      await withStoreChain(command, indexes, sources, async ({ codec, signal, store, context }) => {
        const cache = await openWriteStore(opts.cache, context);
        await fillCache({ indexes, store, cache, codec, concurrency: opts.concurrency, signal });
      });
    });
}
