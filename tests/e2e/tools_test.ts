/** cat and prune end to end, on a store made by our chop from a hand-cut index. */
import { createHash } from "node:crypto";
import { assertEquals, assertMatch } from "../assert.ts";
import { encodeIndex, FLAG_SHA512_256, type IndexChunk } from "../../src/format/index.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { pseudoRandom, removeDir, runCli, tempDir } from "../helpers.ts";

async function indexFor(dir: string, name: string, data: Uint8Array, cut: number) {
  const chunks: IndexChunk[] = [];
  for (let start = 0; start < data.length; start += cut) {
    const plain = data.subarray(start, Math.min(start + cut, data.length));
    const id = createHash("sha512-256").update(plain).digest("hex") as ChunkId;
    chunks.push({ id, start, size: plain.length });
  }
  const index = encodeIndex({
    featureFlags: FLAG_SHA512_256,
    chunkSizeMin: 1000,
    chunkSizeAvg: cut,
    chunkSizeMax: 4 * cut,
    chunks,
  });
  await Deno.writeFile(`${dir}/${name}`, data);
  await Deno.writeFile(`${dir}/${name}.caibx`, index);
  return chunks;
}

Deno.test("cli: cat streams the blob and byte ranges of it, to stdout and to a file", async (t) => {
  const dir = await tempDir(t);
  try {
    const data = pseudoRandom(250_000, 31);
    await indexFor(dir, "blob", data, 30_000);
    await runCli(["chop", "-s", `${dir}/store`, `${dir}/blob.caibx`, `${dir}/blob`]);
    const whole = await runCli(["cat", "-s", `${dir}/store`, `${dir}/blob.caibx`, `${dir}/out`]);
    assertEquals(whole.code, 0, whole.stderr);
    assertEquals(await Deno.readFile(`${dir}/out`), data);
    for (const [offset, length] of [[0, 10], [29_990, 20], [59_999, 100_001], [249_000, 1000]]) {
      const child = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          new URL("../../src/main.ts", import.meta.url).pathname,
          "cat",
          "-s",
          `${dir}/store`,
          "--offset",
          String(offset),
          "--length",
          String(length),
          `${dir}/blob.caibx`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(child.code, 0, new TextDecoder().decode(child.stderr));
      assertEquals(new Uint8Array(child.stdout), data.subarray(offset, offset + length));
    }
    const past = await runCli([
      "cat",
      "-s",
      `${dir}/store`,
      "--offset",
      "300000",
      `${dir}/blob.caibx`,
    ]);
    assertEquals(past.code, 2);
    assertMatch(past.stderr, /past the blob's end/);
    // A range running past the end fails, as under Go desync (tests/interop/go_cli_test.ts).
    const longer = await runCli(
      ["cat", "-s", `${dir}/store`, "-o", "249000", "-l", "5000", `${dir}/blob.caibx`],
    );
    assertEquals(longer.code, 2);
    assertMatch(longer.stderr, /^desync: --offset 249000 --length 5000 runs past the blob's end/);
  } finally {
    await removeDir(dir);
  }
});

Deno.test("cli: prune removes only unreferenced chunks; asks first; --dry-run lists", async (t) => {
  const dir = await tempDir(t);
  try {
    const keep = await indexFor(dir, "keep", pseudoRandom(100_000, 41), 25_000);
    const drop = await indexFor(dir, "drop", pseudoRandom(60_000, 42), 20_000);
    for (const name of ["keep", "drop"]) {
      await runCli(["chop", "-s", `${dir}/store`, `${dir}/${name}.caibx`, `${dir}/${name}`]);
    }
    const dry = await runCli(["prune", "--dry-run", "-s", `${dir}/store`, `${dir}/keep.caibx`]);
    assertEquals(dry.code, 0, dry.stderr);
    assertEquals(dry.stdout.trim().split("\n").sort(), drop.map((c) => c.id).sort());

    const declined = await runCli(["prune", "-s", `${dir}/store`, `${dir}/keep.caibx`], undefined, {
      stdin: new TextEncoder().encode("n\n"),
    });
    assertEquals(declined.code, 1);
    assertMatch(declined.stderr, /cancelled/);

    const yes = await runCli(
      ["--verbose", "prune", "-s", `${dir}/store`, `${dir}/keep.caibx`],
      undefined,
      { stdin: new TextEncoder().encode("y\n") },
    );
    assertEquals(yes.code, 0, yes.stderr);
    // Quiet on success, as Go desync; --verbose says what was done.
    assertEquals(yes.stdout, "");
    assertMatch(yes.stderr, /removed 3 chunks, kept 4/);
    const left = await runCli([
      "prune",
      "-y",
      "--dry-run",
      "-s",
      `${dir}/store`,
      `${dir}/keep.caibx`,
    ]);
    assertEquals(left.stdout, "");
    const out = await runCli(["extract", "-s", `${dir}/store`, `${dir}/keep.caibx`, `${dir}/x`]);
    assertEquals(out.code, 0, out.stderr);
    assertEquals(keep.length, 4);
  } finally {
    await removeDir(dir);
  }
});
