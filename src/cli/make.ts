import type { Command } from "commander";
import { make } from "../ops/make.ts";
import { openWriteStore } from "../store/location.ts";
import {
  chunkSizesFrom,
  DEFAULT_CONCURRENCY,
  parseConcurrency,
  parseDigest,
  print,
  storeContext,
  withRuntime,
} from "./common.ts";

export function registerMake(program: Command) {
  program.command("make")
    .description("chunk a blob as casync does, store its chunks and write its index")
    .argument(
      "<index>",
      "index file to write (.caibx; a path, s3+http(s)://, sftp:// or http(s):// with PUT)",
    )
    .argument("<blob>", "file to chunk")
    .option("-s, --store <location>", "store to write the chunks to (none: index only)")
    .option("-m <min:avg:max>", "chunk sizes in KiB (default 16:64:256)")
    .option("--chunk-size <min:avg:max>", "chunk sizes in bytes, as casync takes them")
    .option("--digest <name>", "sha512-256 (default) or sha256", parseDigest, "sha512-256")
    .option("-n, --concurrency <n>", "chunks in flight", parseConcurrency, DEFAULT_CONCURRENCY)
    .option("--print-stats", "print chunk and byte counts when done", false)
    .action(async (indexPath: string, blob: string, opts, command: Command) => {
      const params = chunkSizesFrom(opts);
      const stats = await withRuntime(async ({ codec, signal }) => {
        const context = await storeContext(command, codec, [opts.digest]);
        const store = opts.store === undefined
          ? undefined
          : await openWriteStore(opts.store, context);
        try {
          const { stats } = await make({
            blob,
            indexPath,
            store,
            codec,
            params,
            digest: opts.digest,
            concurrency: opts.concurrency,
            signal,
            indexContext: context,
          });
          return stats;
        } finally {
          await store?.close();
        }
      });
      if (opts.printStats) {
        const dedup = stats.chunks ? (stats.chunks / stats.uniqueChunks).toFixed(2) : "1.00";
        print(`chunks: ${stats.chunks}`);
        print(`unique chunks: ${stats.uniqueChunks}`);
        print(`new chunks stored: ${stats.storedChunks}`);
        print(`bytes in: ${stats.bytesIn}`);
        print(`bytes stored: ${stats.bytesStored}`);
        print(`dedup ratio: ${dedup}`);
      }
    });
}
