import type { Command } from "commander";
import { writeAll } from "../util/fs.ts";
import { document } from "./help.ts";
import { quietWhenReaderLeaves } from "./output.ts";
import { UsageError } from "../errors.ts";
import { type Feed, fileFeed, indexFeed } from "../ops/archive_input.ts";
import {
  addStoreOptions,
  DEFAULT_CONCURRENCY,
  loadIndex,
  parseConcurrency,
  withRuntime,
  withStoreChain,
} from "./common.ts";

const encoder = new TextEncoder();

async function print(text: string) {
  await writeAll(Deno.stdout, encoder.encode(text));
}

async function run(source: string, feed: Feed) {
  // Loaded here: it pulls in node:crypto, which other commands' main thread need not load.
  const { mtree } = await import("../ops/mtree.ts");
  await quietWhenReaderLeaves(() => mtree({ source, feed, print }));
}

export function registerMtree(program: Command) {
  addStoreOptions(
    document(program.command("mtree"), {
      stores: true,
      examples: [
        ["list a catar archive", "desync mtree backup.catar"],
        [
          "list an index's tree, its chunks from a store",
          "desync mtree -i -s /srv/store backup.caidx",
        ],
      ],
    })
      .description("list an archive's tree in mtree(5) format, with file digests")
      .argument("<archive>", "catar file (- for stdin), or an index with -i"),
  )
    .option("-i, --index", "the archive is an index (.caidx); its chunks come from -s", false)
    .option("-n, --concurrency <n>", "chunks fetched ahead", parseConcurrency, DEFAULT_CONCURRENCY)
    .action(async (archive: string, opts, command: Command) => {
      if (!opts.index && (opts.store.length > 0 || opts.cache !== undefined)) {
        throw new UsageError("-s and -c go with -i");
      }
      const source = archive === "-" ? "<stdin>" : archive;
      if (!opts.index) {
        await withRuntime(({ signal }) => run(source, fileFeed(archive, signal)));
        return;
      }
      const index = await loadIndex(archive, command);
      await withStoreChain(
        command,
        [index],
        opts,
        ({ signal, store }) => run(source, indexFeed(index, store, opts.concurrency, signal)),
      );
    });
}
