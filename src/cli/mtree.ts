import type { Command } from "./args/mod.ts";
import { SHA512_256, WITH_USER_NAMES } from "../format/catar.ts";
import type { Feed } from "../ops/archive_input.ts";
import { stdout, writeAll } from "../util/fs.ts";
import { withRuntime } from "./common.ts";
import { document } from "./help.ts";
import { quietWhenReaderLeaves } from "./output.ts";
import { addArchiveSourceOptions, withArchiveSource } from "./archive_source.ts";

const encoder = new TextEncoder();

async function print(text: string) {
  await writeAll(stdout, encoder.encode(text));
}

async function listArchive(source: string, feed: Feed) {
  // Loaded here: it pulls in node:crypto, which other commands' main thread need not load.
  const { mtree } = await import("../ops/mtree.ts");
  await quietWhenReaderLeaves(() => mtree({ source, feed, print }));
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false; // reading it as an archive says what is wrong
  }
}

/**
 * A directory is listed as Go desync lists it: as the archive tar would make of
 * it (so with Deno alone, times in whole seconds), without user and group names.
 */
async function listDirectory(dir: string, command: Command) {
  const { tar, tarFeatures } = await import("../ops/tar.ts");
  const { selectTreeFs } = await import("../util/tree_fs.ts");
  const fs = selectTreeFs();
  const digest = command.optsWithGlobals().digest;
  const featureFlags = (tarFeatures(fs) & ~WITH_USER_NAMES) |
    (digest === "sha512-256" ? SHA512_256 : 0n);
  await withRuntime(({ signal }) =>
    listArchive(dir, async (push) => {
      await tar({ source: dir, featureFlags, fs, write: push, signal });
    })
  );
}

export function registerMtree(program: Command) {
  addArchiveSourceOptions(
    document(program.command("mtree"), {
      stores: true,
      digest: true,
      examples: [
        ["list a catar archive", "desync mtree backup.catar"],
        [
          "list an index's tree, its chunks from a store",
          "desync mtree -i -s /srv/store backup.caidx",
        ],
        ["list a directory", "desync mtree /srv/data"],
      ],
    })
      .description("list an archive's or a directory's tree in mtree(5) format, with file digests")
      .argument("<archive>", "catar file (- for stdin), an index with -i, or a directory"),
  )
    .action(async (archive: string, opts, command: Command) => {
      const plain = !opts.index && opts.store.length === 0 && opts.cache === undefined;
      if (plain && archive !== "-" && await isDirectory(archive)) {
        await listDirectory(archive, command);
        return;
      }
      await withArchiveSource(archive, command, ({ source, feed }) => listArchive(source, feed));
    });
}
