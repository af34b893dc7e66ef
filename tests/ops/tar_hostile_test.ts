/**
 * tar against hostile trees: a failure is one line whose path cannot forge
 * another line or drive the terminal.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { SHA512_256 } from "../../src/format/catar.ts";
import { DesyncError } from "../../src/errors.ts";
import { tar, tarFeatures } from "../../src/ops/tar.ts";
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
