import type { Command } from "commander";
import { fillCache } from "../ops/cache.ts";
import { openStoreChain, openWriteStore } from "../store/location.ts";
import {
  collect,
  DEFAULT_CONCURRENCY,
  digestsOf,
  loadIndex,
  parseConcurrency,
  storeContext,
  withRuntime,
} from "./common.ts";

export function registerCache(program: Command) {
  program.command("cache")
    .description("fill a cache store with every chunk of the given indexes")
    .argument("<index...>", "index files")
    .option("-s, --store <location>", "chunk store (repeatable, tried in order)", collect, [])
    .requiredOption("-c, --cache <location>", "cache store to fill")
    .option("-n, --concurrency <n>", "chunks in flight", parseConcurrency, DEFAULT_CONCURRENCY)
    .action(async (indexPaths: string[], opts, command: Command) => {
      const indexes = await Promise.all(indexPaths.map((path) => loadIndex(path, command)));
      await withRuntime(async ({ codec, signal }) => {
        const context = await storeContext(command, codec, digestsOf(indexes));
        const store = await openStoreChain(opts.store, undefined, context);
        try {
          const cache = await openWriteStore(opts.cache, context);
          await fillCache({ indexes, store, cache, concurrency: opts.concurrency, signal });
        } finally {
          await store.close();
        }
      });
    });
}
