/**
 * Disk full and read-only outputs, on a small tmpfs (mounting needs root;
 * elsewhere these tests are ignored with the reason), and outputs Deno's
 * permissions let the command write but not read. Each error names the file
 * or store and the operation; nothing is left under the final name.
 */
import { assertEquals } from "../assert.ts";
import { removeDir, REPO, tempDir } from "../helpers.ts";
import { assertFailure, assertNoOutput, FLAGS, makeFixture, runCli, tempFiles } from "./harness.ts";
import { fill, NO_SPACE, tmpfsTest } from "./tmpfs.ts";

tmpfsTest("extract onto a full disk names the output", { size: "1m" }, async (f, small) => {
  const out = `${small}/blob`;
  const result = await runCli(["extract", "-s", f.store, f.index, out], FLAGS.local);
  assertFailure(result, new RegExp(`^desync: ${out}: cannot write at offset \\d+: ${NO_SPACE}$`));
  assertNoOutput(out);
});

tmpfsTest("cat onto a full disk names the output", { size: "1m" }, async (f, small) => {
  const out = `${small}/blob`;
  const result = await runCli(["cat", "-s", f.store, f.index, out], FLAGS.local);
  assertFailure(result, new RegExp(`^desync: ${out}: cannot write: ${NO_SPACE}$`));
  assertNoOutput(out);
});

tmpfsTest(
  "make with its index on a full disk names the index",
  { size: "1m" },
  async (f, small) => {
    await fill(small);
    const index = `${small}/blob.caibx`;
    const result = await runCli(["make", "-s", `${f.dir}/made`, index, f.blob], FLAGS.local);
    assertFailure(result, new RegExp(`^desync: ${index}: cannot write: ${NO_SPACE}$`));
    assertNoOutput(index);
  },
);

tmpfsTest(
  "make with its store on a full disk names store and chunk",
  { size: "1m" },
  async (f, small) => {
    const index = `${f.dir}/made.caibx`;
    const result = await runCli(["make", "-s", `${small}/store`, index, f.blob], FLAGS.local);
    const pattern = `^desync: store ${small}/store: writing chunk [0-9a-f]{64}: ` +
      `cannot (create directory|write) ${small}/store/\\S+: ${NO_SPACE}$`;
    assertFailure(result, new RegExp(pattern));
    assertNoOutput(index);
    assertEquals(tempFiles(small), []);
  },
);

tmpfsTest("cache onto a full disk names store and chunk", { size: "1m" }, async (f, small) => {
  const result = await runCli(
    ["cache", "-s", f.store, "-c", `${small}/cache`, f.index],
    FLAGS.local,
  );
  const pattern = `^desync: store ${small}/cache: writing chunk [0-9a-f]{64}: ` +
    `cannot (create directory|write) ${small}/cache/\\S+: ${NO_SPACE}$`;
  assertFailure(result, new RegExp(pattern));
  assertEquals(tempFiles(small), []);
});

for (const command of ["extract", "cat"]) {
  tmpfsTest(`${command} onto a read-only file system names the output`, {
    size: "1m",
    readOnly: true,
  }, async (f, small) => {
    const out = `${small}/blob`;
    const result = await runCli([command, "-s", f.store, f.index, out], FLAGS.local);
    assertFailure(result, new RegExp(`^desync: ${out}: cannot write: read-only file system$`));
    assertNoOutput(out);
  });
}

tmpfsTest("make onto a read-only file system names the index", {
  size: "1m",
  readOnly: true,
}, async (f, small) => {
  const index = `${small}/blob.caibx`;
  const result = await runCli(["make", index, f.blob], FLAGS.local);
  assertFailure(result, new RegExp(`^desync: ${index}: cannot write: read-only file system$`));
  assertNoOutput(index);
});

Deno.test("faults: an output Deno may write but not read names the missing permission", async (t) => {
  const dir = await tempDir(t);
  try {
    const f = await makeFixture(dir);
    await Deno.mkdir(`${dir}/out`);
    const flags = [
      `--allow-read=${REPO},${f.store},${f.index}`,
      `--allow-write=${dir}/out`,
    ];
    const out = `${dir}/out/blob`;
    const result = await runCli(["extract", "-s", f.store, f.index, out], flags);
    assertFailure(
      result,
      new RegExp(
        `^desync: ${out}: cannot write: Deno needs --allow-read for ${dir}/out/ \\(the output `,
      ),
    );
    assertNoOutput(out);
  } finally {
    await removeDir(dir);
  }
});
