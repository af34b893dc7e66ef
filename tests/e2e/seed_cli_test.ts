/** extract's seed and in-place options from the command line: results and bad input. */
import { assertEquals, assertMatch } from "../assert.ts";
import { blobStoreTest, mustRun, PERMISSIONS, runCli, sha256sum } from "../helpers.ts";

function cliTest(name: string, fn: (dir: string) => Promise<void>) {
  blobStoreTest(`cli seeds: ${name}`, 21, async (dir) => {
    await Deno.mkdir(`${dir}/empty-store`);
    await fn(dir);
  });
}

function assertUsageError(result: { code: number; stderr: string }, pattern: RegExp) {
  assertEquals(result.code, 2, result.stderr);
  assertMatch(result.stderr, pattern);
  assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
}

cliTest("with every chunk in a seed, an empty store suffices", async (dir) => {
  // The seed's index uses SHA-256: its IDs cannot match, so its data is re-chunked.
  await Deno.copyFile(`${dir}/blob`, `${dir}/old`);
  await mustRun(Deno.execPath(), [
    "run",
    "--quiet",
    "--allow-read",
    "--allow-write",
    new URL("../../src/main.ts", import.meta.url).pathname,
    "make",
    "--digest",
    "sha256",
    `${dir}/old.caibx`,
    `${dir}/old`,
  ]);
  const result = await runCli([
    "extract",
    "--print-stats",
    "-s",
    `${dir}/empty-store`,
    "--seed",
    `${dir}/old.caibx`,
    `${dir}/blob.caibx`,
    `${dir}/out`,
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(await sha256sum(`${dir}/out`), await sha256sum(`${dir}/blob`));
  const stats = JSON.parse(result.stdout);
  assertEquals(stats["chunks-from-store"], 0);
  assertEquals(stats["seeds-used"], 1);
});

cliTest("bad combinations are usage errors", async (dir) => {
  const index = `${dir}/blob.caibx`;
  const store = `${dir}/store`;
  assertUsageError(
    await runCli(["extract", "-s", store, index, "-"]),
    /^desync: extract writes a file; .* cat/,
  );
  assertUsageError(
    await runCli(["extract", "-s", store, index, index]),
    /^desync: .*blob\.caibx: the output would overwrite the index/,
  );
  await Deno.link(index, `${dir}/hardlink`);
  assertUsageError(
    await runCli(["extract", "-s", store, index, `${dir}/hardlink`]),
    /would overwrite the index/,
  );
  await Deno.symlink(index, `${dir}/symlink`);
  for (const [from, to] of [[index, `${dir}/symlink`], [`${dir}/symlink`, index]]) {
    assertUsageError(await runCli(["extract", "-s", store, from, to]), /would overwrite the index/);
  }
  assertEquals(await sha256sum(`${dir}/symlink`), await sha256sum(index));
  await Deno.writeFile(`${dir}/out`, new Uint8Array(10));
  assertUsageError(
    await runCli(["extract", "-k", "-s", store, "--seed", `${dir}/out`, index, `${dir}/out`]),
    /^desync: seed .*out: its data is the output itself/,
  );
  assertUsageError(
    await runCli([
      "extract",
      "--skip-invalid-seeds",
      "--regenerate-invalid-seeds",
      "-s",
      store,
      index,
      `${dir}/o`,
    ]),
    /not both/,
  );
  await mustRun("mkfifo", [`${dir}/fifo`]);
  assertUsageError(
    await runCli(["extract", "-k", "-s", store, index, `${dir}/fifo`]),
    /^desync: .*fifo: --in-place needs a regular file or a block device/,
  );
});

cliTest("a malformed seed index or missing seed data names the seed", async (dir) => {
  const index = `${dir}/blob.caibx`;
  await Deno.writeFile(`${dir}/bad`, new Uint8Array(10));
  await Deno.writeFile(`${dir}/bad.caibx`, new Uint8Array(70));
  const bad = await runCli(
    ["extract", "-s", `${dir}/store`, "--seed", `${dir}/bad.caibx`, index, `${dir}/o`],
  );
  assertEquals(bad.code, 1);
  assertMatch(bad.stderr, /^desync: .*bad\.caibx: invalid index/);
  const missing = await runCli(
    ["extract", "-s", `${dir}/store`, "--seed", `${dir}/gone.caibx`, index, `${dir}/o`],
  );
  assertEquals(missing.code, 1);
  assertMatch(missing.stderr, /^desync: seed .*gone\.caibx: cannot read its data .*gone/);
  assertEquals([...Deno.readDirSync(dir)].some((e) => e.name.startsWith(".o")), false);
});

cliTest("cat takes chunks from seeds before the stores", async (dir) => {
  await Deno.copyFile(`${dir}/blob`, `${dir}/copy`);
  const result = await runCli(
    ["cat", "-s", `${dir}/empty-store`, "--seed", `${dir}/copy`, `${dir}/blob.caibx`, `${dir}/o`],
    PERMISSIONS.local,
  );
  assertEquals(result.code, 0, result.stderr);
  assertEquals(await sha256sum(`${dir}/o`), await sha256sum(`${dir}/blob`));
});

cliTest(
  "info counts a seed given as INDEX:DATA, as a plain file, or as an index alone",
  async (dir) => {
    const index = `${dir}/blob.caibx`;
    const unique = new Set(
      (await runCli(["list-chunks", index], PERMISSIONS.readOnly)).stdout.trim().split("\n"),
    ).size;
    await Deno.copyFile(`${dir}/blob`, `${dir}/plain`);
    await Deno.copyFile(index, `${dir}/alone.caibx`);
    for (const seed of [`${index}:${dir}/blob`, `${dir}/plain`, `${dir}/alone.caibx`]) {
      const result = await runCli(["info", "--seed", seed, index], PERMISSIONS.readOnly);
      assertEquals(result.code, 0, result.stderr);
      const info = JSON.parse(result.stdout);
      assertEquals([info["in-seed"], info["dedup-size-not-in-seed"]], [unique, 0], seed);
    }
  },
);
