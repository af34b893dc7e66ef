import type { Command } from "./args/mod.ts";
import { fillCache } from "../ops/cache.ts";
import { openWriteStore } from "../store/location.ts";
import {
  addCacheRepairOption,
  addConcurrencyOption,
  addStoreOptions,
  loadIndex,
  withStoreChain,
} from "./common.ts";
import { document } from "./help.ts";
import { addIgnoreOptions, ignoredChunks } from "./ignore.ts";

export function registerCache(program: Command) {
  const command = program.command("cache")
    .description("fill a cache store with every chunk of the given indexes")
    .argument("<index...>", "index files, URLs, or - for stdin");
  addStoreOptions(command, false).requiredOption("-c, --cache <location>", "cache store to fill");
  addIgnoreOptions(command);
  addConcurrencyOption(command);
  addCacheRepairOption(command);
  document(command, {
    stores: true,
    examples: [
      [
        "prefetch an image's chunks into a local cache",
        "desync cache -s http://mirror/store -c /var/cache/desync image.caibx",
      ],
      [
        "only what v1 did not have",
        "desync cache -s http://mirror/store -c /var/cache/desync --ignore v1.caibx v2.caibx",
      ],
    ],
  });
  command.action(async (indexPaths: string[], opts, command: Command) => {
    const indexes = await Promise.all(indexPaths.map((path) => loadIndex(path, command)));
    const skip = await ignoredChunks(opts, command);
    // Fetch from the -s stores only: the -c store is the target here, not a cache in front.
    const sources = { store: opts.store };
    await withStoreChain(command, indexes, sources, async ({ codec, signal, store, context }) => {
      const cache = await openWriteStore(opts.cache, context);
      await fillCache({
        indexes,
        store,
        cache,
        codec,
        concurrency: opts.concurrency,
        signal,
        skip,
      });
    });
  });
}
