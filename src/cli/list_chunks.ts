import type { Command } from "commander";
import { loadIndex } from "./common.ts";
import { writeLines } from "./output.ts";

export function registerListChunks(program: Command) {
  program.command("list-chunks")
    .description("print the chunk IDs of an index, one per line, in index order")
    .argument("<index>", "index file, or - for stdin")
    .action(async (indexPath: string, _opts: unknown, command: Command) => {
      const index = await loadIndex(indexPath, command);
      await writeLines(index.chunks.map((chunk) => chunk.id));
    });
}
