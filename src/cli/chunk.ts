import type { Command } from "./args/mod.ts";
import { make } from "../ops/make.ts";
import { addChunkSizeOption, addConcurrencyOption, parseByteCount, withRuntime } from "./common.ts";
import { document } from "./help.ts";
import { writeLines } from "./output.ts";

export function registerChunk(program: Command) {
  const command = program.command("chunk")
    .description(
      "print start, size and ID of each chunk of a blob (tab-separated), without a store",
    )
    .argument("<blob>", "file to chunk")
    .option("-S, --start <bytes>", "chunk from this offset on", parseByteCount("-S/--start"), 0);
  addChunkSizeOption(command);
  addConcurrencyOption(command, "chunks hashed at once");
  document(command, {
    local: true,
    digest: true,
    examples: [
      ["list the chunks casync would cut", "desync chunk image.img"],
      [
        "from byte 1048576 on, with 4/16/64 KiB chunks",
        "desync chunk -S 1048576 -m 4:16:64 image.img",
      ],
    ],
  });
  command.action(async (blob: string, opts, command: Command) => {
    const digest = command.optsWithGlobals().digest;
    const { index } = await withRuntime(({ codec, signal }) =>
      make({
        blob,
        codec,
        params: opts.chunkSize,
        digest,
        concurrency: opts.concurrency,
        signal,
        start: opts.start,
      })
    );
    await writeLines(index.chunks.map((c) => `${c.start}\t${c.size}\t${c.id}`));
  });
}
