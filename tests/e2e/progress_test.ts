/** The progress bar appears on a terminal (a pty from `script`) and stays off otherwise. */
import { createHash } from "node:crypto";
import { assertEquals, assertMatch } from "../assert.ts";
import { encodeIndex, FLAG_SHA512_256 } from "../../src/format/index.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import {
  MAIN,
  missingTools,
  pseudoRandom,
  removeDir,
  runCli,
  runTool,
  tempDir,
} from "../helpers.ts";

Deno.test({
  name: "cli: extract draws a progress bar on a TTY and is quiet when piped",
  ignore: Boolean(missingTools("script")),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const data = pseudoRandom(200_000, 3);
      const chunks = [];
      for (let start = 0; start < data.length; start += 50_000) {
        const plain = data.subarray(start, start + 50_000);
        chunks.push({
          id: createHash("sha512-256").update(plain).digest("hex") as ChunkId,
          start,
          size: plain.length,
        });
      }
      await Deno.writeFile(`${dir}/blob`, data);
      await Deno.writeFile(
        `${dir}/blob.caibx`,
        encodeIndex({
          featureFlags: FLAG_SHA512_256,
          chunkSizeMin: 1,
          chunkSizeAvg: 50_000,
          chunkSizeMax: 50_000,
          chunks,
        }),
      );
      await runCli(["chop", "-s", `${dir}/store`, `${dir}/blob.caibx`, `${dir}/blob`]);

      const piped = await runCli([
        "extract",
        "-s",
        `${dir}/store`,
        `${dir}/blob.caibx`,
        `${dir}/a`,
      ]);
      assertEquals(piped.code, 0, piped.stderr);
      assertEquals(piped.stderr, "");

      const command = [Deno.execPath(), "run", "--quiet", "--allow-read", "--allow-write", MAIN]
        .concat(["extract", "-s", `${dir}/store`, `${dir}/blob.caibx`, `${dir}/b`])
        .map((word) => `'${word}'`).join(" ");
      const tty = await runTool("script", ["-qec", command, "/dev/null"]);
      assertEquals(tty.code, 0, tty.stdout);
      assertMatch(tty.stdout, /extract \[#+\] 100\.0%/);
      assertEquals(await Deno.readFile(`${dir}/b`), data);
    } finally {
      await removeDir(dir);
    }
  },
});
