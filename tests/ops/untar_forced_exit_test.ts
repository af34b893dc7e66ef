/**
 * untar made to exit mid-run (a second stop signal, or a run that does not
 * unwind within the grace period, util/shutdown.ts): the forced-exit cleanups
 * remove what it has half made before the process ends.
 */
import { assertEquals, assertRejects } from "../assert.ts";
import { untar } from "../../src/ops/untar.ts";
import { runForcedExitCleanups } from "../../src/util/shutdown.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { buildArchive, directory, file } from "../format/catar_builder.ts";

function listing(dir: string): string[] {
  return Array.from(Deno.readDirSync(dir), (entry) => entry.name).sort();
}

// "a" whole, then the first half of "b".
const archive = buildArchive(
  directory(undefined, [file("a", "first"), file("b", "x".repeat(64 * 1024))]),
);
const head = archive.subarray(0, archive.length - 32 * 1024);

/** Unpacks `head`, then runs the forced-exit cleanups as the exit would; returns what was left. */
async function forcedExitAfterHead(target: string, look: string): Promise<string[]> {
  let left: string[] = [];
  await assertRejects(
    () =>
      untar({
        target,
        source: "test.catar",
        feed: async (push) => {
          await push(head);
          runForcedExitCleanups();
          left = listing(look);
          throw new Error("the process has exited");
        },
      }),
    Error,
    "the process has exited",
  );
  return left;
}

Deno.test("untar: a forced exit removes the new target's temporary tree", async (t) => {
  const dir = await tempDir(t);
  try {
    assertEquals(await forcedExitAfterHead(`${dir}/target`, dir), []);
  } finally {
    await removeDir(dir);
  }
});

Deno.test("untar: a forced exit removes the half-written file in an existing target", async (t) => {
  const dir = await tempDir(t);
  try {
    assertEquals(await forcedExitAfterHead(dir, dir), ["a"]);
  } finally {
    await removeDir(dir);
  }
});
