/**
 * The archive untar and mtree read: a catar file (or stdin, `-`), or with -i an
 * index whose chunks come from -s stores, behind an optional -c cache.
 */
import type { Command } from "./args/mod.ts";
import { UsageError } from "../errors.ts";
import { type Feed, fileFeed, indexFeed } from "../ops/archive_input.ts";
import type { CodecPool } from "../chunk/codec_pool.ts";
import {
  addCacheRepairOption,
  addConcurrencyOption,
  addStoreOptions,
  loadIndex,
  withRuntime,
  withStoreChain,
} from "./common.ts";

/** Adds -s, -c, -i, -n (chunks fetched ahead with -i) and -r. */
export function addArchiveSourceOptions(command: Command): Command {
  addStoreOptions(command)
    .option("-i, --index", "the archive is an index (.caidx); its chunks come from -s", false);
  addConcurrencyOption(command, "chunks fetched ahead");
  return addCacheRepairOption(command);
}

export interface ArchiveSource {
  /** The archive as messages name it. */
  source: string;
  feed: Feed;
  signal: AbortSignal;
  /**
   * The codec lanes (with -i they read the chunks; untar has them make small
   * files too), started on the first call when the archive is a file.
   */
  lanes: () => CodecPool;
}

/** Runs `work` on the archive `archive` names, with the command's -i, -s, -c and -n. */
export async function withArchiveSource(
  archive: string,
  command: Command,
  work: (input: ArchiveSource) => Promise<void>,
): Promise<void> {
  const opts = command.opts<
    { index: boolean; store: string[]; cache?: string; concurrency: number; cacheRepair: boolean }
  >();
  if (!opts.index && (opts.store.length > 0 || opts.cache !== undefined)) {
    throw new UsageError("-s and -c go with -i");
  }
  const source = archive === "-" ? "<stdin>" : archive;
  if (!opts.index) {
    await withRuntime((runtime) =>
      work({
        source,
        feed: fileFeed(archive, runtime.signal),
        signal: runtime.signal,
        lanes: () => runtime.codec,
      })
    );
    return;
  }
  const index = await loadIndex(archive, command);
  await withStoreChain(
    command,
    [index],
    opts,
    ({ signal, store, codec }) =>
      work({
        source,
        feed: indexFeed(index, store, opts.concurrency, signal, codec),
        signal,
        lanes: () => codec,
      }),
  );
}
