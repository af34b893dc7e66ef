import type { Command } from "./args/mod.ts";
import type { ChunkAdditionalInfo } from "../ops/info.ts";
import { locationKind } from "../store/location.ts";
import { chunkFilePath } from "../format/store_layout.ts";
import { describeFsError, stdout, writeAll, writeAtomically } from "../util/fs.ts";
import { StoreError, UsageError } from "../errors.ts";
import { addCacheRepairOption, addConcurrencyOption, loadIndex } from "./common.ts";
import { document } from "./help.ts";
import { quietWhenReaderLeaves } from "./output.ts";

export function registerInspectChunks(program: Command) {
  const command = program.command("inspect-chunks")
    .description(
      "print each chunk of an index as JSON: ID, size and, with a local store, stored size",
    )
    .argument("<index>", "index file, URL, or - for stdin")
    .argument("[output]", "file to write the JSON to (default: stdout)")
    .option("-s, --store <dir>", "local store whose chunk files give the compressed sizes");
  addConcurrencyOption(command, "accepted for Go desync's command lines");
  addCacheRepairOption(command);
  document(command, {
    stores: true,
    examples: [
      ["sizes as the index lists them", "desync inspect-chunks image.caibx"],
      [
        "with the compressed sizes of a local store, for info --chunks-info",
        "desync inspect-chunks -s /srv/store image.caibx chunks.json",
      ],
    ],
  });
  command.action(async (indexPath: string, output: string | undefined, opts, command: Command) => {
    const index = await loadIndex(indexPath, command);
    const sizes = new Map<string, number>();
    if (opts.store !== undefined) {
      const dir: string = opts.store;
      if (locationKind(dir) !== "local") {
        throw new UsageError(`store ${dir}: inspect-chunks needs a local store directory`);
      }
      const stat = async (path: string) => {
        try {
          return await Deno.stat(path);
        } catch (error) {
          // Like Go desync: a chunk the store lacks has no compressed size.
          if (error instanceof Deno.errors.NotFound) return undefined;
          throw new StoreError(dir, `${path}: ${describeFsError(error)}`, { cause: error });
        }
      };
      if (!(await stat(dir))?.isDirectory) throw new StoreError(dir, "not a directory");
      for (const { id } of index.chunks) {
        if (sizes.has(id)) continue;
        const info = await stat(chunkFilePath(dir, id));
        if (info?.isFile) sizes.set(id, info.size);
      }
    }
    const entries: ChunkAdditionalInfo[] = index.chunks.map(({ id, size }) => ({
      id,
      uncompressed_size: size,
      ...(sizes.get(id) ? { compressed_size: sizes.get(id) } : {}),
    }));
    // Go desync writes `null` for an index without chunks.
    const text = JSON.stringify(entries.length ? entries : null, null, 2) + "\n";
    const bytes = new TextEncoder().encode(text);
    if (output === undefined || output === "-") {
      await quietWhenReaderLeaves(() => writeAll(stdout, bytes));
    } else await writeAtomically(output, (file) => writeAll(file, bytes));
  });
}
