import type { Command } from "commander";
import { make } from "../ops/make.ts";
import {
  chunkSizesFrom,
  DEFAULT_CONCURRENCY,
  parseConcurrency,
  parseDigest,
  withRuntime,
} from "./common.ts";
import { writeLines } from "./output.ts";

export function registerChunk(program: Command) {
  program.command("chunk")
    .description("print start, size and ID of each chunk of a blob, without a store")
    .argument("<blob>", "file to chunk")
    .option("-m <min:avg:max>", "chunk sizes in KiB (default 16:64:256)")
    .option("--chunk-size <min:avg:max>", "chunk sizes in bytes, as casync takes them")
    .option("--digest <name>", "sha512-256 (default) or sha256", parseDigest, "sha512-256")
    .option("-n, --concurrency <n>", "chunks hashed at once", parseConcurrency, DEFAULT_CONCURRENCY)
    .action(async (blob: string, opts) => {
      const params = chunkSizesFrom(opts);
      const { index } = await withRuntime(({ codec, signal }) =>
        make({ blob, codec, params, digest: opts.digest, concurrency: opts.concurrency, signal })
      );
      await writeLines(index.chunks.map((c) => `${c.start} ${c.size} ${c.id}`));
    });
}
