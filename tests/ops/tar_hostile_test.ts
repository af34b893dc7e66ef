/**
 * tar against hostile trees: a failure is one line whose path cannot forge
 * another line or drive the terminal, and a file swapped for another kind of
 * node after its stat is refused at once instead of being followed or waited on.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { SHA512_256 } from "../../src/format/catar.ts";
import { DesyncError } from "../../src/errors.ts";
import { tar, tarFeatures } from "../../src/ops/tar.ts";
import { makeNode } from "../../src/util/posix.ts";
import { denoTreeFs, type TreeFs } from "../../src/util/tree_fs.ts";
import { tempDirTest } from "../helpers.ts";

const FLAGS = tarFeatures(denoTreeFs) | SHA512_256;

function archive(source: string, fs: TreeFs = denoTreeFs) {
  return tar({ source, featureFlags: FLAGS, fs, write: () => Promise.resolve() });
}

tempDirTest(
  "tar hostile: a name's newline and escape sequence are escaped in the message",
  async (dir) => {
    const name = "a\nb\x1b[31mc";
    await Deno.mkdir(`${dir}/tree`);
    await Deno.writeTextFile(`${dir}/tree/${name}`, "x");
    // A time before 1970 is refused naming the entry (any failure naming it would do).
    await Deno.utime(`${dir}/tree/${name}`, new Date(-86_400_000), new Date(-86_400_000));
    const error = await assertRejects(() => archive(`${dir}/tree`), DesyncError);
    assert(
      // deno-lint-ignore no-control-regex
      !/[\x00-\x1f]/.test(error.message),
      `one printable line: ${JSON.stringify(error.message)}`,
    );
    assertEquals(error.message.split(": ")[0], `${dir}/tree/a\\x0Ab\\x1B[31mc`);
  },
);

tempDirTest("tar hostile: a system call's failure escapes the name as well", async (dir) => {
  await Deno.mkdir(`${dir}/tree`);
  await Deno.writeTextFile(`${dir}/tree/x\ny`, "x");
  const failing: TreeFs = {
    ...denoTreeFs,
    stat(path, follow) {
      if (path.endsWith("\ny")) return denoTreeFs.stat(`${path}-gone`, follow);
      return denoTreeFs.stat(path, follow);
    },
  };
  const error = await assertRejects(() => archive(`${dir}/tree`, failing), DesyncError);
  assertEquals(error.message, `${dir}/tree/x\\x0Ay-gone: cannot stat: No such file or directory`);
});

/** A file system on which `path` is replaced (removed, then `replace`d) right after its stat. */
function swapAfterStat(path: string, replace: () => void): TreeFs {
  return {
    ...denoTreeFs,
    stat(at, follow) {
      const info = denoTreeFs.stat(at, follow);
      if (at === path) {
        Deno.removeSync(path);
        replace();
      }
      return info;
    },
  };
}

tempDirTest(
  "tar hostile: a file replaced by a FIFO after its stat is refused, not waited on",
  async (dir) => {
    await Deno.mkdir(`${dir}/tree`);
    const path = `${dir}/tree/swapped`;
    await Deno.writeTextFile(path, "contents");
    // The race made certain: the file is stat'ed, then a FIFO takes its name.
    const swapping = swapAfterStat(path, () => makeNode(path, 0o010644));
    // A writer that opens the FIFO only later: an open that waits for one would
    // return only after it, and the archive would go on with the writer's bytes.
    const writer = new Deno.Command("sh", {
      args: ["-c", 'sleep 10; exec 3>"$1"', "sh", path],
      stdout: "null",
      stderr: "null",
    }).spawn();
    let writerDone = false;
    const waited = writer.status.then(() => writerDone = true);
    try {
      const error = await assertRejects(() => archive(`${dir}/tree`, swapping), DesyncError);
      assertEquals(error.message, `${path}: replaced while being archived`);
      assert(!writerDone, "tar returned before anything opened the FIFO");
    } finally {
      try {
        writer.kill("SIGKILL");
      } catch {
        // already gone
      }
      await waited;
    }
  },
);

tempDirTest(
  "tar hostile: a file replaced by a symlink after its stat is not followed",
  async (dir) => {
    await Deno.mkdir(`${dir}/tree`);
    await Deno.writeTextFile(`${dir}/secret`, "not part of the tree");
    const path = `${dir}/tree/swapped`;
    await Deno.writeTextFile(path, "contents");
    const swapping = swapAfterStat(path, () => Deno.symlinkSync(`${dir}/secret`, path));
    const error = await assertRejects(() => archive(`${dir}/tree`, swapping), DesyncError);
    assertEquals(error.message, `${path}: replaced while being archived`);
  },
);
