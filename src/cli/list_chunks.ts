import type { Command } from "commander";
import { readIndex } from "../ops/read_index.ts";
import { writeLines } from "./output.ts";

export function registerListChunks(program: Command) {
  program.command("list-chunks")
    .description("print the chunk IDs of an index, one per line, in index order")
    .argument("<index>", "index file, or - for stdin")
    .action(async (indexPath: string) => {
      const index = await readIndex(indexPath);
      await writeLines(index.chunks.map((chunk) => chunk.id));
    });
}
