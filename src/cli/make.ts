import type { Command } from "./args/mod.ts";
import { make } from "../ops/make.ts";
import { writeIndex } from "../ops/write_index.ts";
import { openWriteStore } from "../store/location.ts";
import {
  addCacheRepairOption,
  addChunkSizeOption,
  addConcurrencyOption,
  storeContext,
  withRuntime,
} from "./common.ts";
import { document } from "./help.ts";
import { quietWhenReaderLeaves } from "./output.ts";

export function registerMake(program: Command) {
  const command = program.command("make")
    .description("chunk a blob as casync does, store its chunks and write its index")
    .argument(
      "<index>",
      "index to write: a file, - for stdout, an http(s):// URL (PUT), s3+http(s):// or sftp://",
    )
    .argument("<blob>", "file to chunk")
    .option("-s, --store <location>", "store to write the chunks to (none: index only)");
  addChunkSizeOption(command);
  addConcurrencyOption(command);
  command.option(
    "--print-stats",
    "print Go desync's chunking statistics as JSON on stderr when done",
    false,
  );
  addCacheRepairOption(command);
  document(command, {
    stores: true,
    digest: true,
    examples: [
      [
        "chunk image.img into a local store and write its index",
        "desync make -s /srv/store image.caibx image.img",
      ],
      [
        "casync-style byte sizes, SHA-256 IDs",
        "desync make --digest sha256 -m 16K:64K:256K -s /srv/store image.caibx image.img",
      ],
      ["only the index, to stdout", "desync make - image.img > image.caibx"],
    ],
  });
  command.action(async (indexPath: string, blob: string, opts, command: Command) => {
    const digest = command.optsWithGlobals().digest;
    const { index, stats } = await withRuntime(async ({ codec, signal }) => {
      const context = await storeContext(command, codec, [digest]);
      const store = opts.store === undefined
        ? undefined
        : await openWriteStore(opts.store, context);
      try {
        const made = await make({
          blob,
          store,
          codec,
          params: opts.chunkSize,
          digest,
          concurrency: opts.concurrency,
          signal,
        });
        const write = () => writeIndex(indexPath, made.index, context.http, signal, context);
        // To stdout, a reader that went away ends it quietly, as it ends tar's and cat's.
        await (indexPath === "-" ? quietWhenReaderLeaves(write) : write());
        return made;
      } finally {
        await store?.close();
      }
    });
    if (opts.printStats) {
      // Go desync's two keys, then ours; on stderr, as stdout may carry the index.
      const json = {
        ChunksAccepted: index.chunks.length,
        ChunksProduced: index.chunks.length,
        "chunks-unique": stats.uniqueChunks,
        "chunks-stored": stats.storedChunks,
        "bytes-in": stats.bytesIn,
        "bytes-stored": stats.bytesStored,
      };
      console.error(JSON.stringify(json, null, 2));
    }
  });
}
