import type { Command } from "./args/mod.ts";
import { chop } from "../ops/chop.ts";
import { openWriteStore } from "../store/location.ts";
import {
  addCacheRepairOption,
  addConcurrencyOption,
  digestsOf,
  loadIndex,
  storeContext,
  withRuntime,
} from "./common.ts";
import { document } from "./help.ts";
import { addIgnoreOptions, ignoredChunks } from "./ignore.ts";

export function registerChop(program: Command) {
  const command = program.command("chop")
    .description("cut a blob into the chunks its index names and store them")
    .argument("<index>", "index file, URL, or - for stdin")
    .argument("<blob>", "the blob the index describes")
    .requiredOption("-s, --store <location>", "store to write the chunks to");
  addIgnoreOptions(command);
  addConcurrencyOption(command);
  addCacheRepairOption(command);
  document(command, {
    stores: true,
    examples: [
      ["fill a store from a blob and its index", "desync chop -s /srv/store image.caibx image.img"],
      [
        "upload only what v1 did not have",
        "desync chop -s http://mirror/store --ignore v1.caibx v2.caibx v2.img",
      ],
    ],
  });
  command.action(async (indexPath: string, blob: string, opts, command: Command) => {
    const index = await loadIndex(indexPath, command);
    const skip = await ignoredChunks(opts, command);
    await withRuntime(async ({ codec, signal }) => {
      const store = await openWriteStore(
        opts.store,
        await storeContext(command, codec, digestsOf([index])),
      );
      try {
        await chop({ index, blob, store, codec, concurrency: opts.concurrency, signal, skip });
      } finally {
        await store.close();
      }
    });
  });
}
