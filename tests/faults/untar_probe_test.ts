/**
 * untar into a new tree learns, once, what its file system makes of modes and
 * owners (a probe directory and file in the new tree): a failure there, as any,
 * leaves no half-made tree behind.
 */
import { assertEquals, assertMatch } from "../assert.ts";
import { runCli } from "../helpers.ts";
import { FLAGS } from "./harness.ts";
import { tmpfsTest } from "./tmpfs.ts";

// Three inodes: the tmpfs root, `x` and untar's temporary tree; the probe finds none left.
tmpfsTest("untar into a new tree with no inode left for its probe leaves nothing", {
  size: "1m",
  inodes: 3,
}, async (f, small) => {
  await Deno.mkdir(`${f.dir}/src`);
  await Deno.writeTextFile(`${f.dir}/src/a`, "a\n");
  const archive = `${f.dir}/src.catar`;
  const made = await runCli(["tar", archive, `${f.dir}/src`], FLAGS.local);
  assertEquals(made.code, 0, made.stderr);
  await Deno.mkdir(`${small}/x`);
  const run = await runCli(["untar", archive, `${small}/x/t`], FLAGS.local);
  assertEquals(run.code, 1, run.stderr);
  assertMatch(run.stderr, /^desync: [^\n]*: cannot create: no space left on device\n$/i);
  assertEquals([...Deno.readDirSync(`${small}/x`)], []);
});
