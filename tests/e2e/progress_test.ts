/** The progress bar appears on a terminal (a pty from `script`) and stays off otherwise. */
import { createHash } from "node:crypto";
import { assert, assertEquals, assertMatch } from "../assert.ts";
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

/** A small store and index for the progress tests below; returns their paths. */
async function progressFixture(dir: string) {
  const data = pseudoRandom(300_000, 4);
  await Deno.writeFile(`${dir}/blob`, data);
  const made = await runCli([
    "make",
    "-m",
    "4:16:64",
    "-s",
    `${dir}/store`,
    `${dir}/blob.caibx`,
    `${dir}/blob`,
  ]);
  assertEquals(made.code, 0, made.stderr);
  return { index: `${dir}/blob.caibx`, store: `${dir}/store`, data };
}

const ENV_FLAGS = [
  "--allow-read",
  "--allow-write",
  "--allow-env=DESYNC_PROGRESSBAR_ENABLED,DESYNC_ENABLE_PARSABLE_PROGRESS",
];

Deno.test("cli: Go desync's progress variables: forced bar, parsable lines, off without them", async (t) => {
  const dir = await tempDir(t);
  try {
    const { index, store } = await progressFixture(dir);
    const extract = (out: string, env: Record<string, string>, flags = ENV_FLAGS) =>
      runCli(["extract", "-s", store, index, `${dir}/${out}`], flags, { env });

    const parsable = await extract("p", { DESYNC_ENABLE_PARSABLE_PROGRESS: "1" });
    assertEquals(parsable.code, 0, parsable.stderr);
    assert(!parsable.stderr.includes("\r") && !parsable.stderr.includes("["), parsable.stderr);
    const last = parsable.stderr.trim().split("\n").at(-1)!;
    assertMatch(
      last,
      /^extract 100\.0% 293\.0 KiB\/293\.0 KiB \S+ \S+\/s in \d+s chunks (\d+)\/\1 /,
    );

    const forced = await extract("f", { DESYNC_PROGRESSBAR_ENABLED: "1" });
    assertEquals(forced.code, 0, forced.stderr);
    assertMatch(forced.stderr, /\rextract \[#{20}\] 100\.0% /);

    const off = await extract("o", { DESYNC_PROGRESSBAR_ENABLED: "" });
    assertEquals([off.code, off.stderr], [0, ""]);
    // Set, but Deno may not read it: no bar, and no complaint either.
    const unreadable = await extract("u", { DESYNC_PROGRESSBAR_ENABLED: "1" }, [
      "--allow-read",
      "--allow-write",
    ]);
    assertEquals([unreadable.code, unreadable.stderr], [0, ""]);
  } finally {
    await removeDir(dir);
  }
});

Deno.test({
  name: "cli: verify, cat to a file and prune show progress on a terminal",
  ignore: Boolean(missingTools("script")),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const { index, store, data } = await progressFixture(dir);
      const onTty = async (args: string[]) => {
        const command = [Deno.execPath(), "run", "--quiet", "--allow-read", "--allow-write", MAIN]
          .concat(args).map((word) => `'${word}'`).join(" ");
        const result = await runTool("script", ["-qec", command, "/dev/null"]);
        assertEquals(result.code, 0, result.stdout);
        return result.stdout;
      };
      assertMatch(await onTty(["verify", "-s", store]), /verify \d+ chunks \d+ chunks\/s in \d+s/);
      assertMatch(
        await onTty(["cat", "-s", store, index, `${dir}/out`]),
        /cat \[#{20}\] 100\.0% 293\.0 KiB\/293\.0 KiB /,
      );
      assertEquals(await Deno.readFile(`${dir}/out`), data);
      const other = await runCli([
        "make",
        "-m",
        "4:16:64",
        "-s",
        store,
        `${dir}/other.caibx`,
        `${dir}/out`,
        "--digest",
        "sha256",
      ]);
      assertEquals(other.code, 0, other.stderr);
      assertMatch(
        await onTty(["prune", "-y", "-s", store, index]),
        /prune \[#{20}\] 100\.0% (\d+)\/\1 chunks /,
      );
    } finally {
      await removeDir(dir);
    }
  },
});
