/** `--ignore INDEX` and `--ignore-chunks FILE` (chop, cache): chunks known to be in the target. */
import type { Command } from "./args/mod.ts";
import { DesyncError } from "../errors.ts";
import { type ChunkId, isChunkId } from "../format/chunk_id.ts";
import { describeFsError } from "../util/fs.ts";
import { collect, loadIndex } from "./common.ts";

export function addIgnoreOptions(command: Command): Command {
  return command
    .option("--ignore <index>", "skip the chunks of this index (repeatable)", collect, [])
    .option(
      "--ignore-chunks <file>",
      "skip the chunk IDs listed in this text file, one per line (repeatable)",
      collect,
      [],
    );
}

/** The chunk IDs the `--ignore` indexes and `--ignore-chunks` files name. */
export async function ignoredChunks(
  opts: { ignore: string[]; ignoreChunks: string[] },
  command: Command,
): Promise<Set<ChunkId>> {
  const ids = new Set<ChunkId>();
  for (const location of opts.ignore) {
    for (const chunk of (await loadIndex(location, command)).chunks) ids.add(chunk.id);
  }
  for (const file of opts.ignoreChunks) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (error) {
      throw new DesyncError(`${file}: cannot read chunk list: ${describeFsError(error)}`, {
        cause: error,
      });
    }
    for (const [i, raw] of text.split("\n").entries()) {
      const line = raw.trim().toLowerCase();
      if (line === "") continue;
      if (!isChunkId(line)) {
        throw new DesyncError(`${file}: line ${i + 1}: not a chunk ID: ${JSON.stringify(line)}`);
      }
      ids.add(line);
    }
  }
  return ids;
}
