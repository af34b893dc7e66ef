import type { Command } from "commander";
import { stdout, writeAll } from "../util/fs.ts";
import { document } from "./help.ts";
import { quietWhenReaderLeaves } from "./output.ts";
import { addArchiveSourceOptions, withArchiveSource } from "./archive_source.ts";

const encoder = new TextEncoder();

async function print(text: string) {
  await writeAll(stdout, encoder.encode(text));
}

export function registerMtree(program: Command) {
  addArchiveSourceOptions(
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
    .action(async (archive: string, _opts, command: Command) => {
      await withArchiveSource(archive, command, async ({ source, feed }) => {
        // Loaded here: it pulls in node:crypto, which other commands' main thread need not load.
        const { mtree } = await import("../ops/mtree.ts");
        await quietWhenReaderLeaves(() => mtree({ source, feed, print }));
      });
    });
}
