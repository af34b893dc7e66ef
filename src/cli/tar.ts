import type { Command } from "./args/mod.ts";
import { DesyncError, UsageError } from "../errors.ts";
import { escapeControls } from "../util/printable.ts";
import { SHA512_256 } from "../format/catar.ts";
import { writeIndex } from "../ops/write_index.ts";
import { openWriteStore } from "../store/location.ts";
import { BufferedWriter } from "../util/buffered_writer.ts";
import { describeFsError, stdout, writeAtomically } from "../util/fs.ts";
import { type PathMatcher, pathMatcher } from "../util/glob.ts";
import type { TreeFs } from "../util/tree_fs.ts";
import type { FileStat } from "../util/posix.ts";
import { userDb } from "../util/user_db.ts";
import {
  addCacheRepairOption,
  addChunkSizeOption,
  addConcurrencyOption,
  collect,
  storeContext,
  withRuntime,
} from "./common.ts";
import { document } from "./help.ts";
import { verbose } from "./log.ts";
import { quietWhenReaderLeaves } from "./output.ts";

/** `fs` with every modification time read as 0 unless `time` (Go desync's `--no-time`). */
function treeFsFor(fs: TreeFs, time: boolean): TreeFs {
  if (time) return fs;
  const zeroed: TreeFs = Object.create(fs);
  Object.defineProperty(zeroed, "stat", {
    value: (path: string, follow?: boolean) => ({ ...fs.stat(path, follow), mtimeNs: 0n }),
  });
  return zeroed;
}

/**
 * `-x`: an entry on another file system than the source (a mount point) is
 * left out with everything below it, as Go desync does; so are `patterns`.
 * Each entry's stat comes from the walk; the source's is taken once (the walk has
 * just taken it too, so it cannot fail but for a race).
 */
function otherFileSystems(
  fs: TreeFs,
  source: string,
  patterns: PathMatcher | undefined,
): (relative: string, name: string, info: FileStat) => boolean {
  let root: FileStat | undefined;
  return (relative, name, info) => {
    if (patterns?.(relative, name)) return true;
    try {
      root ??= fs.stat(source, true);
    } catch (error) {
      throw new DesyncError(`${escapeControls(source)}: cannot stat: ${describeFsError(error)}`, {
        cause: error,
      });
    }
    return info.devMajor !== root.devMajor || info.devMinor !== root.devMinor;
  };
}

/** Writes a catar to `output` (a temporary renamed into place) or to stdout for "-". */
async function writeArchive(output: string, produce: (out: BufferedWriter) => Promise<void>) {
  if (output === "-") {
    const out = new BufferedWriter(stdout);
    await produce(out);
    await out.flush();
    return;
  }
  await writeAtomically(output, async (file) => {
    const out = new BufferedWriter(file);
    await produce(out);
    await out.flush();
  });
}

export function registerTar(program: Command) {
  const command = program.command("tar")
    .description(
      "archive a directory tree as casync's catar, or with -i chunk it into a store and write a .caidx",
    )
    .argument(
      "<output>",
      "archive to write (.catar); - for stdout; with -i the .caidx: a file, -, an http(s):// URL " +
        "(PUT), s3+http(s):// or sftp://",
    )
    .argument("<source>", "directory to archive")
    .option("-i, --index", "write an index (.caidx) and store the archive's chunks", false)
    .option("-s, --store <location>", "store for the chunks (with -i; none: index only)")
    .option("--no-same-owner", "record no owners (uid and gid 0, no names)")
    .option("--exclude <glob>", "leave out entries matching the pattern (repeatable)", collect, [])
    .option("--no-time", "record every modification time as 0 (Go desync's)")
    .option("-x, --one-file-system", "leave out what is on other file systems than the source");
  addChunkSizeOption(command);
  addConcurrencyOption(command);
  // Go desync's tar takes -r too; with no cache it has no effect.
  addCacheRepairOption(command);
  document(command, {
    stores: true,
    digest: true,
    examples: [
      ["archive a tree as a catar file", "desync tar backup.catar /srv/data"],
      [
        "chunk a tree into a store and write its index",
        "desync tar -i -s /srv/store backup.caidx /srv/data",
      ],
      ["leave out caches", "desync tar --exclude '*.cache' backup.catar /srv/data"],
    ],
  });
  command
    .action(async (output: string, source: string, opts, command: Command) => {
      const sizesGiven = command.getOptionValueSource("chunkSize") === "cli";
      if (!opts.index && (opts.store !== undefined || sizesGiven)) {
        throw new UsageError("-s and -m/--chunk-size go with -i");
      }
      let patterns;
      try {
        patterns = pathMatcher(opts.exclude);
      } catch (error) {
        throw new UsageError(`--exclude: ${(error as Error).message}`);
      }
      const params = opts.chunkSize;
      const digest = command.optsWithGlobals().digest;
      // Loaded here: the tree walker pulls in node:fs, which other commands need not load.
      const { OWNER_FEATURES, tar, tarFeatures, tarIndex } = await import("../ops/tar.ts");
      const { selectTreeFs } = await import("../util/tree_fs.ts");
      const fs = treeFsFor(selectTreeFs(), opts.time);
      const exclude = opts.oneFileSystem ? otherFileSystems(fs, source, patterns) : patterns;
      const features = tarFeatures(fs);
      const featureFlags = (opts.sameOwner ? features : features & ~OWNER_FEATURES) |
        (digest === "sha512-256" ? SHA512_256 : 0n);
      if (fs.kind === "deno") {
        verbose("without --allow-ffi: times in whole seconds, no extended attributes");
      }
      verbose(`feature flags 0x${featureFlags.toString(16)}`);
      const users = userDb();
      // To stdout, a reader that went away (`desync tar - … | head`) ends the job quietly.
      const finish = (write: () => Promise<void>) =>
        output === "-" ? quietWhenReaderLeaves(write) : write();
      await withRuntime(async (runtime) => {
        const walk = { source, featureFlags, fs, exclude, users, signal: runtime.signal };
        if (!opts.index) {
          await finish(() =>
            writeArchive(output, async (out) => {
              await tar({ ...walk, write: (bytes) => out.write(bytes) });
            })
          );
          return;
        }
        const { codec, signal } = runtime;
        const context = await storeContext(command, codec, [digest]);
        const store = opts.store === undefined
          ? undefined
          : await openWriteStore(opts.store, context);
        try {
          const { index } = await tarIndex({
            ...walk,
            store,
            codec,
            params,
            concurrency: opts.concurrency,
          });
          await finish(() => writeIndex(output, index, context.http, signal, context));
        } finally {
          await store?.close();
        }
      });
    });
}
