import type { Command } from "./args/mod.ts";
import { cat, catSource } from "../ops/cat.ts";
import { indexLength } from "../format/index.ts";
import { statOutput, stdout, writeAll, writeAtomically } from "../util/fs.ts";
import { quietWhenReaderLeaves, refuseOverwritingIndex } from "./output.ts";
import { progressBar } from "../util/progress.ts";
import { resolveSeeds } from "../ops/seeds.ts";
import {
  addCacheRepairOption,
  addConcurrencyOption,
  addSeedOptions,
  addStoreOptions,
  invalidSeedPolicy,
  loadIndex,
  parseByteCount,
  withStoreChain,
} from "./common.ts";
import { document } from "./help.ts";

export function registerCat(program: Command) {
  const command = addSeedOptions(addStoreOptions(
    program.command("cat")
      .description("stream a blob (or a range of it) to stdout or a file, in order")
      .argument("<index>", "index file, URL, or - for stdin")
      .argument("[output]", "file to write (default: stdout)"),
  ));
  addConcurrencyOption(command, "chunks fetched ahead");
  command
    .option("-o, --offset <bytes>", "first byte to write", parseByteCount("-o/--offset"), 0)
    .option(
      "-l, --length <bytes>",
      "how many bytes to write; 0 for the rest, as Go desync",
      parseByteCount("-l/--length"),
      0,
    );
  addCacheRepairOption(command);
  document(command, {
    stores: true,
    examples: [
      [
        "search a blob without writing it to disk",
        "desync cat -s http://mirror/store image.caibx | grep -c something",
      ],
      [
        "1 MiB from offset 4096, with a cache",
        "desync cat -s /srv/store -c ~/.cache/desync -o 4096 -l 1048576 image.caibx part.bin",
      ],
    ],
  });
  command.action(async (indexPath: string, output: string | undefined, opts, command: Command) => {
    const invalidSeeds = invalidSeedPolicy(opts);
    const index = await loadIndex(indexPath, command);
    if (output !== undefined && output !== "-") await refuseOverwritingIndex(indexPath, output);
    const seeds = await resolveSeeds({
      seeds: opts.seed,
      seedDirs: opts.seedDir,
      target: index,
      targetIndexPath: indexPath,
      invalidSeeds,
      readIndex: (location) => loadIndex(location, command),
    });
    const length = opts.length === 0 ? undefined : opts.length;
    await withStoreChain(command, [index], opts, async ({ signal, store, codec }) => {
      const source = await catSource(index, store, seeds, codec, invalidSeeds, signal);
      const run = (write: (bytes: Uint8Array) => Promise<void>) =>
        cat({
          ...source,
          index,
          write,
          concurrency: opts.concurrency,
          offset: opts.offset,
          length,
          signal,
          codec,
        });
      if (output === undefined || output === "-") {
        await quietWhenReaderLeaves(() => run((bytes) => writeAll(stdout, bytes)));
        return;
      }
      const rest = Math.max(0, indexLength(index) - opts.offset);
      const progress = progressBar("cat", length === undefined ? rest : Math.min(rest, length));
      const stream = (file: Deno.FsFile) =>
        run(async (bytes) => {
          await writeAll(file, bytes);
          progress.add(bytes.length);
        });
      try {
        const info = await statOutput(output);
        if (info && (info.isFifo || info.isCharDevice)) {
          // A pipe or a terminal is streamed into, not replaced.
          using file = await Deno.open(output, { write: true });
          await stream(file);
        } else {
          await writeAtomically(output, stream);
        }
      } finally {
        progress.done();
      }
    });
  });
}
