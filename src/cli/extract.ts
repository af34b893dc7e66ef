import type { Command } from "./args/mod.ts";
import { UsageError } from "../errors.ts";
import { extract, type ExtractStats } from "../ops/extract.ts";
import { resolveSeeds } from "../ops/seeds.ts";
import { statOutput } from "../util/fs.ts";
import {
  addCacheRepairOption,
  addConcurrencyOption,
  addSeedOptions,
  addStoreOptions,
  invalidSeedPolicy,
  loadIndex,
  print,
  withStoreChain,
} from "./common.ts";
import { document } from "./help.ts";
import { refuseOverwritingIndex } from "./output.ts";

export function registerExtract(program: Command) {
  const command = addSeedOptions(addStoreOptions(
    program.command("extract")
      .description("assemble a blob from its index, seeds and chunk stores")
      .argument("<index>", "index file (.caibx), URL, or - for stdin")
      .argument("<output>", "file to write"),
  ))
    .option("--no-seed-output", "do not use the existing output file as a seed")
    .option("-k, --in-place", "write into the output directly, keeping chunks already in place");
  addConcurrencyOption(command);
  command.option("--print-stats", "print where the chunks came from, as JSON, when done", false);
  addCacheRepairOption(command);
  document(command, {
    stores: true,
    examples: [
      [
        "from an HTTP mirror, with a local cache",
        "desync extract -s http://mirror/store -c ~/.cache/desync image.caibx image.img",
      ],
      [
        "update v1 to v2, fetching only what changed",
        "desync extract -s /srv/store --seed v1.caibx v2.caibx v2.img",
      ],
      [
        "finish an interrupted run in place",
        "desync extract -k -s ssh://host/srv/store image.caibx /dev/sdb",
      ],
    ],
  });
  command
    .action(async (indexPath: string, output: string, opts, command: Command) => {
      if (output === "-") {
        throw new UsageError("extract writes a file; to stream a blob to stdout use cat");
      }
      const invalidSeeds = invalidSeedPolicy(opts);
      const index = await loadIndex(indexPath, command);
      await refuseOverwritingIndex(indexPath, output);
      const outputInfo = await statOutput(output);
      if (outputInfo?.isBlockDevice && !opts.inPlace) {
        throw new UsageError(`${output}: is a block device: write it in place with -k/--in-place`);
      }
      const seeds = await resolveSeeds({
        seeds: opts.seed,
        seedDirs: opts.seedDir,
        target: index,
        targetIndexPath: indexPath,
        output,
        seedOutput: opts.seedOutput,
        inPlace: opts.inPlace,
        invalidSeeds,
        readIndex: (location) => loadIndex(location, command),
      });
      const stats = await withStoreChain(
        command,
        [index],
        opts,
        ({ codec, signal, store }) =>
          extract({
            index,
            store,
            output,
            codec,
            concurrency: opts.concurrency,
            seeds,
            inPlace: opts.inPlace,
            invalidSeeds,
            signal,
          }),
      );
      if (opts.printStats) {
        const blocksize = (await Deno.stat(output)).blksize ?? 4096;
        print(JSON.stringify(statsJson(stats, seeds.length, blocksize), null, 2));
      }
    });
}

/**
 * Go desync's `--print-stats` keys in its order, then the finer split by source.
 * As in Go desync, zero chunks count as taken from a seed (its built-in
 * zero-chunk seed, which `seeds` counts too) but copy no bytes into a fresh file.
 */
function statsJson(stats: ExtractStats, seeds: number, blocksize: number) {
  const fromSeeds = stats.seeds.chunks + stats.output.chunks + stats.selfSeed.chunks +
    stats.zero.chunks;
  const bytesFromSeeds = stats.seeds.bytes + stats.output.bytes + stats.selfSeed.bytes;
  return {
    "chunks-from-seeds": fromSeeds,
    "chunks-from-store": stats.stores.chunks,
    "chunks-in-place": stats.inPlace.chunks,
    "bytes-copied-from-seeds": bytesFromSeeds,
    "bytes-cloned-from-seeds": 0,
    "blocksize": blocksize,
    "bytes-total": stats.bytes,
    "chunks-total": stats.chunks,
    "seeds": seeds + 1,
    "seeds-used": stats.seedsUsed,
    "chunks-zero": stats.zero.chunks,
    "bytes-zero": stats.zero.bytes,
    "bytes-in-place": stats.inPlace.bytes,
    "chunks-from-seed-files": stats.seeds.chunks,
    "bytes-from-seed-files": stats.seeds.bytes,
    "chunks-from-output": stats.output.chunks,
    "bytes-from-output": stats.output.bytes,
    "chunks-from-self-seed": stats.selfSeed.chunks,
    "bytes-from-self-seed": stats.selfSeed.bytes,
    "bytes-from-store": stats.stores.bytes,
  };
}
