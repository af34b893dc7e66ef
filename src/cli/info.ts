import { type Command, Option } from "./args/mod.ts";
import { DesyncError } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import { goInfoJson, indexInfo, infoLines, parseChunksInfo } from "../ops/info.ts";
import { resolveSeeds } from "../ops/seeds.ts";
import { SeedStore } from "../ops/seed_store.ts";
import { openStore, openStoreChain } from "../store/location.ts";
import type { Store } from "../store/store.ts";
import { describeFsError } from "../util/fs.ts";
import {
  addCacheRepairOption,
  addConcurrencyOption,
  addSeedOptions,
  collect,
  digestsOf,
  invalidSeedPolicy,
  largestChunk,
  loadIndex,
  print,
  storeContext,
  withRuntime,
} from "./common.ts";
import { document } from "./help.ts";

/** The index a `--seed` value names (Go desync's info reads only its chunk IDs), if any. */
function seedIndex(seed: string): string | undefined {
  const pair = /^(.+\.cai[bd]x):.+$/.exec(seed);
  if (pair) return pair[1];
  return /\.cai[bd]x$/.test(seed) || /^https?:\/\//i.test(seed) ? seed : undefined;
}

export function registerInfo(program: Command) {
  const command = addSeedOptions(program.command("info"))
    .description("describe an index; with seeds, a cache and stores, how much of it they hold")
    .argument("<index>", "index file, URL, or - for stdin")
    .option("-s, --store <location>", "store to count the chunks of (repeatable)", collect, [])
    .option("-c, --cache <location>", "cache to count the chunks of")
    .addOption(
      new Option("-f, --format <format>", "output format").choices(["json", "plain"]).default(
        "json",
      ),
    )
    .option(
      "--chunks-info <file>",
      "compressed chunk sizes from inspect-chunks, to estimate the download",
    );
  addConcurrencyOption(command, "store lookups at once");
  addCacheRepairOption(command);
  document(command, {
    stores: true,
    examples: [
      [
        "how much of v2 a machine holding v1 must download",
        "desync info --seed v1.caibx -c ~/.cache/desync v2.caibx",
      ],
      [
        "what a store already has, as text",
        "desync info -f plain -s http://mirror/store image.caibx",
      ],
      [
        "with the compressed sizes inspect-chunks wrote",
        "desync info --seed v1.caibx --chunks-info chunks.json v2.caibx",
      ],
    ],
  });
  command.action(async (indexPath: string, opts, command: Command) => {
    const invalidSeeds = invalidSeedPolicy(opts);
    const index = await loadIndex(indexPath, command);
    const chunksInfo = opts.chunksInfo === undefined
      ? undefined
      : parseChunksInfo(await readText(opts.chunksInfo), opts.chunksInfo);
    const seedIds = new Set<ChunkId>();
    const fileSeeds: string[] = [];
    for (const seed of opts.seed as string[]) {
      const location = seedIndex(seed);
      if (location === undefined) {
        fileSeeds.push(seed);
        continue;
      }
      for (const chunk of (await loadIndex(location, command)).chunks) seedIds.add(chunk.id);
    }
    const seeds = await resolveSeeds({
      seeds: fileSeeds,
      seedDirs: opts.seedDir,
      target: index,
      targetIndexPath: indexPath,
      invalidSeeds,
      readIndex: (location) => loadIndex(location, command),
    });
    const needsRuntime = seeds.length > 0 || opts.store.length > 0 || opts.cache !== undefined;
    const info = !needsRuntime
      ? await indexInfo(index, { seedIds, chunksInfo, chunksInfoName: opts.chunksInfo })
      : await withRuntime(async ({ codec, signal }) => {
        const context = await storeContext(
          command,
          codec,
          digestsOf([index]),
          largestChunk([index]),
        );
        const opened: Store[] = [];
        try {
          const open = async <T extends Store>(store: Promise<T>) => {
            opened.push(await store);
            return opened.at(-1) as T;
          };
          const store = opts.store.length > 0
            ? await open(openStoreChain(opts.store, undefined, context))
            : undefined;
          // Only asked whether it holds chunks: a missing cache directory is not created.
          const cache = opts.cache === undefined
            ? undefined
            : await open(openStore(opts.cache, context));
          const seedStore = seeds.length > 0
            ? await open(SeedStore.open(seeds, index, codec, invalidSeeds, signal))
            : undefined;
          return await indexInfo(index, {
            store,
            cache,
            seedIds,
            seedStore,
            chunksInfo,
            chunksInfoName: opts.chunksInfo,
            concurrency: opts.concurrency,
            signal,
          });
        } finally {
          await Promise.allSettled(opened.map((store) => store.close()));
        }
      });
    if (opts.format === "json") print(JSON.stringify(goInfoJson(info), null, 2));
    else for (const line of infoLines(info)) print(line);
  });
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new DesyncError(`${path}: cannot read chunks info: ${describeFsError(error)}`, {
      cause: error,
    });
  }
}
