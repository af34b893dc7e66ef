import type { Command } from "commander";
import { UsageError } from "../errors.ts";
import { SHA512_256 } from "../format/catar.ts";
import { encodeIndex } from "../format/index.ts";
import { OWNER_FEATURES, tar, TAR_FEATURES, tarIndex } from "../ops/tar.ts";
import { openWriteStore } from "../store/location.ts";
import { BufferedWriter } from "../util/buffered_writer.ts";
import { writeAtomically } from "../util/fs.ts";
import { pathMatcher } from "../util/glob.ts";
import { requirePosix } from "../util/posix.ts";
import { loadUserDb } from "../util/user_db.ts";
import {
  chunkSizesFrom,
  collect,
  DEFAULT_CONCURRENCY,
  parseConcurrency,
  parseDigest,
  storeContext,
  withRuntime,
} from "./common.ts";

/** Writes to `output` (a temporary renamed into place) or to stdout for "-". */
async function writeOutput(output: string, produce: (out: BufferedWriter) => Promise<void>) {
  if (output === "-") {
    const out = new BufferedWriter(Deno.stdout);
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
  program.command("tar")
    .description(
      "archive a directory tree as casync's catar, or with -i chunk it into a store and write a .caidx",
    )
    .argument("<output>", "archive to write (.catar, or .caidx with -i); - for stdout")
    .argument("<source>", "directory to archive")
    .option("-i, --index", "write an index (.caidx) and store the archive's chunks", false)
    .option("-s, --store <location>", "store for the chunks (with -i; none: index only)")
    .option("-m <min:avg:max>", "chunk sizes in KiB (default 16:64:256)")
    .option("--chunk-size <min:avg:max>", "chunk sizes in bytes, as casync takes them")
    .option("--digest <name>", "sha512-256 (default) or sha256", parseDigest, "sha512-256")
    .option("-n, --concurrency <n>", "chunks in flight", parseConcurrency, DEFAULT_CONCURRENCY)
    .option("--no-same-owner", "record no owners (uid and gid 0, no names)")
    .option("--exclude <glob>", "leave out entries matching the pattern (repeatable)", collect, [])
    .action(async (output: string, source: string, opts, command: Command) => {
      if (!opts.index && (opts.store !== undefined || opts.m !== undefined || opts.chunkSize)) {
        throw new UsageError("-s, -m and --chunk-size go with -i");
      }
      let exclude;
      try {
        exclude = pathMatcher(opts.exclude);
      } catch (error) {
        throw new UsageError(`--exclude: ${(error as Error).message}`);
      }
      const params = chunkSizesFrom(opts);
      requirePosix("tar");
      const featureFlags = (opts.sameOwner ? TAR_FEATURES : TAR_FEATURES & ~OWNER_FEATURES) |
        (opts.digest === "sha512-256" ? SHA512_256 : 0n);
      const users = await loadUserDb();
      await withRuntime(async ({ codec, signal }) => {
        const walk = { source, featureFlags, exclude, users, signal };
        if (!opts.index) {
          await writeOutput(output, async (out) => {
            await tar({ ...walk, write: (bytes) => out.write(bytes) });
          });
          return;
        }
        const store = opts.store === undefined
          ? undefined
          : await openWriteStore(opts.store, await storeContext(command, codec, [opts.digest]));
        try {
          const { index } = await tarIndex({
            ...walk,
            store,
            codec,
            params,
            concurrency: opts.concurrency,
          });
          await writeOutput(output, (out) => out.write(encodeIndex(index)));
        } finally {
          await store?.close();
        }
      });
    });
}
