/** Blobs on block devices (casync's common case: disk images): make, chop and verify-index read them. */
import { assertEquals, assertMatch } from "../assert.ts";
import { missingTools, mustRun, removeDir, runCli, runTool, tempDir } from "../helpers.ts";
import { CASYNC_MISSING, casyncMake } from "./casync_fixture.ts";

function loopDevicesMissing(): string | false {
  if (Deno.uid() !== 0) return "needs root for a loop device";
  try {
    Deno.statSync("/dev/loop-control");
  } catch {
    return "needs /dev/loop-control";
  }
  return missingTools("losetup");
}

const MISSING = loopDevicesMissing() || CASYNC_MISSING;

Deno.test({
  name: `block devices: make, chop and verify-index read a loop device${
    MISSING ? ` (${MISSING})` : ""
  }`,
  ignore: Boolean(MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    let device: string | undefined;
    try {
      const fixture = await casyncMake(dir, { name: "disk", size: 6 << 20, kind: "random" });
      device = (await mustRun("losetup", ["-f", "--show", "--read-only", fixture.blob])).stdout
        .trim();
      // Deno opens device files only with --allow-all; say so when it is missing.
      const narrow = await runCli(["make", `${dir}/dev.caibx`, device]);
      assertEquals(narrow.code, 1);
      assertMatch(
        narrow.stderr,
        /\/dev\/loop\d+: cannot open: Deno opens devices only with --allow-all/,
      );
      const made = await runCli(["make", "-s", `${dir}/ours`, `${dir}/dev.caibx`, device], ["-A"]);
      assertEquals(made.code, 0, made.stderr);
      assertEquals(await Deno.readFile(`${dir}/dev.caibx`), await Deno.readFile(fixture.index));
      const checked = await runCli(["verify-index", fixture.index, device], ["-A"]);
      assertEquals(checked.code, 0, checked.stderr);
      const chopped = await runCli(["chop", "-s", `${dir}/chopped`, fixture.index, device], ["-A"]);
      assertEquals(chopped.code, 0, chopped.stderr);
    } finally {
      if (device) await runTool("losetup", ["-d", device]);
      await removeDir(dir);
    }
  },
});
