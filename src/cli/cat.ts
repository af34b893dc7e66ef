import type { Command } from "commander";
import { UsageError } from "../errors.ts";
import { cat } from "../ops/cat.ts";
import { writeAtomically } from "../util/fs.ts";
import { StoreRouter } from "../store/router.ts";
import { resolveSeeds } from "../ops/seeds.ts";
import { SeedStore } from "../ops/seed_store.ts";
import { invalidSeedPolicy } from "./extract.ts";
import {
  addSeedOptions,
  addStoreOptions,
  DEFAULT_CONCURRENCY,
  loadIndex,
  parseConcurrency,
  withStoreChain,
} from "./common.ts";

function parseByteCount(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new UsageError(`${flag} must be a whole number of bytes, got "${value}"`);
    }
    return n;
  };
}

async function writeAll(file: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array) {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

export function registerCat(program: Command) {
  addSeedOptions(addStoreOptions(
    program.command("cat")
      .description("stream a blob (or a range of it) to stdout or a file, in order")
      .argument("<index>", "index file, URL, or - for stdin")
      .argument("[output]", "file to write (default: stdout)"),
  ))
    .option("-n, --concurrency <n>", "chunks fetched ahead", parseConcurrency, DEFAULT_CONCURRENCY)
    .option("--offset <bytes>", "first byte to write", parseByteCount("--offset"), 0)
    .option("--length <bytes>", "how many bytes to write", parseByteCount("--length"))
    .action(async (indexPath: string, output: string | undefined, opts, command: Command) => {
      const invalidSeeds = invalidSeedPolicy(opts);
      const index = await loadIndex(indexPath, command);
      const seeds = await resolveSeeds({
        seeds: opts.seed,
        seedDirs: opts.seedDir,
        target: index,
        targetIndexPath: indexPath,
        invalidSeeds,
        readIndex: (location) => loadIndex(location, command),
      });
      await withStoreChain(command, [index], opts, async ({ signal, store, codec }) => {
        // Seeds are asked first; the router is not closed here, the chain is by withStoreChain.
        const source = seeds.length === 0 ? store : new StoreRouter([
          await SeedStore.open(seeds, index, codec, invalidSeeds, signal),
          store,
        ]);
        const run = (write: (bytes: Uint8Array) => Promise<void>) =>
          cat({
            index,
            store: source,
            write,
            concurrency: opts.concurrency,
            offset: opts.offset,
            length: opts.length,
            signal,
          });
        if (output === undefined || output === "-") {
          try {
            await run((bytes) => writeAll(Deno.stdout, bytes));
          } catch (error) {
            // The reader went away (`desync cat … | head`): that ends the job, quietly.
            if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
          }
        } else {
          await writeAtomically(output, (file) => run((bytes) => writeAll(file, bytes)));
        }
      });
    });
}
