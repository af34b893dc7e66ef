import type { Command } from "./args/mod.ts";
import { addCacheRepairOption, addConcurrencyOption, loadIndex } from "./common.ts";
import { document } from "./help.ts";
import { writeLines } from "./output.ts";

export function registerListChunks(program: Command) {
  const command = program.command("list-chunks")
    .description("print the chunk IDs of an index, one per line, in index order")
    .argument("<index>", "index file, URL, or - for stdin");
  addConcurrencyOption(command, "accepted for Go desync's command lines");
  addCacheRepairOption(command);
  document(command, {
    examples: [
      ["the chunks an image needs", "desync list-chunks image.caibx"],
      [
        "chunks of v2 that v1 lacks",
        "comm -13 <(desync list-chunks v1.caibx | sort) <(desync list-chunks v2.caibx | sort)",
      ],
    ],
  });
  command.action(async (indexPath: string, _opts: unknown, command: Command) => {
    const index = await loadIndex(indexPath, command);
    await writeLines(index.chunks.map((chunk) => chunk.id));
  });
}
