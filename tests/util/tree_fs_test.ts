/**
 * Deno's file-system access for tar and untar (no FFI) against the C library's
 * (statx, utimensat, readlink and friends through FFI, which these tests may use):
 * the same stat data with times cut to milliseconds, times set to the
 * millisecond without following symlinks, and clear failures where only the C
 * library can go.
 */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  currentUmask,
  effectiveUid,
  makeNode,
  makeSymlink,
  setModificationTime,
  statFile,
  SystemCallError,
} from "../../src/util/posix.ts";
import { denoTreeFs, libcTreeFs, selectTreeFs } from "../../src/util/tree_fs.ts";
import { S_IFSOCK } from "../../src/format/catar.ts";
import { runTool, tempDirTest } from "../helpers.ts";

const IS_ROOT = effectiveUid() === 0;

function fsTest(name: string, fn: (dir: string) => void | Promise<void>, ignore = false) {
  tempDirTest(`tree fs: ${name}`, fn, ignore);
}

fsTest("Deno's stat is the C library's with times cut to milliseconds", async (dir) => {
  await Deno.writeTextFile(`${dir}/file`, "12345");
  await Deno.mkdir(`${dir}/dir`);
  await Deno.symlink("file", `${dir}/link`);
  makeNode(`${dir}/fifo`, 0o010640);
  makeNode(`${dir}/socket`, S_IFSOCK | 0o755);
  const paths = ["file", "dir", "link", "fifo", "socket"];
  if (IS_ROOT) {
    // Numbers beyond 8 bits take the split parts of Linux's dev_t.
    makeNode(`${dir}/char`, 0o020600, 1, 3);
    makeNode(`${dir}/block`, 0o060600, 259, 300000);
    paths.push("char", "block");
  }
  let t = 1_650_000_000_123_456_789n;
  for (const path of paths) setModificationTime(`${dir}/${path}`, t += 1_000_999_999n);
  for (const path of paths) {
    const exact = statFile(`${dir}/${path}`);
    assertEquals(
      denoTreeFs.stat(`${dir}/${path}`),
      { ...exact, mtimeNs: exact.mtimeNs / 1_000_000n * 1_000_000n },
      path,
    );
  }
  if (IS_ROOT) {
    const block = denoTreeFs.stat(`${dir}/block`);
    assertEquals([block.rdevMajor, block.rdevMinor], [259, 300000]);
  }
  assertEquals(denoTreeFs.stat(`${dir}/link`, true).mode, statFile(`${dir}/file`).mode);
  const missing = assertThrows(() => denoTreeFs.stat(`${dir}/nope`), SystemCallError);
  assertEquals(missing.message, `${dir}/nope: cannot stat: No such file or directory`);
  assertEquals(missing.errno, 2);
});

fsTest("times are set to the millisecond, on a symlink itself, atime kept", async (dir) => {
  await Deno.writeTextFile(`${dir}/file`, "x");
  await Deno.symlink("file", `${dir}/link`);
  const before = statFile(`${dir}/file`).mtimeNs;
  const atime = (await Deno.lstat(`${dir}/link`)).atime!.getTime();
  denoTreeFs.setModificationTime(`${dir}/link`, 1_234_567_890_987_654_321n);
  assertEquals(statFile(`${dir}/link`).mtimeNs, 1_234_567_890_987_000_000n);
  assertEquals(statFile(`${dir}/file`).mtimeNs, before, "the target is not touched");
  assertEquals((await Deno.lstat(`${dir}/link`)).atime!.getTime(), atime);
  denoTreeFs.setModificationTime(`${dir}/file`, 5n);
  assertEquals(statFile(`${dir}/file`).mtimeNs, 0n);
});

fsTest("a directory's or file's time is set to its exact millisecond", async (dir) => {
  // Times whose seconds, as a float, came out a millisecond early through node's
  // lutimes (found by trying: about one time in a hundred), and some neighbours.
  await Deno.mkdir(`${dir}/d`);
  await Deno.writeTextFile(`${dir}/f`, "x");
  const wrong: string[] = [];
  for (const base of [1_080_930_259_968n, 1_079_899_298_304n, 1_091_795_125_248n]) {
    for (const ms of [base - 1n, base, base + 1n]) {
      for (const path of [`${dir}/d`, `${dir}/f`]) {
        denoTreeFs.setModificationTime(path, ms * 1_000_000n + 999_999n);
        const got = statFile(path).mtimeNs;
        if (got !== ms * 1_000_000n) wrong.push(`${path}: ${ms} ms set, ${got} ns read`);
      }
    }
  }
  assertEquals(wrong, []);
});

fsTest("symlinks by bytes: UTF-8 targets both ways, others refused naming --allow-ffi", (dir) => {
  const target = new TextEncoder().encode("日本/../x y");
  denoTreeFs.makeSymlink(target, `${dir}/ok`);
  assertEquals(libcTreeFs.readLink(`${dir}/ok`), target);
  assertEquals(denoTreeFs.readLink(`${dir}/ok`), target);
  const odd = new Uint8Array([0x61, 0xff]);
  makeSymlink(odd, `${dir}/odd`);
  const read = assertThrows(() => denoTreeFs.readLink(`${dir}/odd`), SystemCallError);
  assertEquals(
    read.message,
    `${dir}/odd: cannot read the link: its target is not UTF-8, and Deno reads other ` +
      "targets only with --allow-ffi",
  );
  const made = assertThrows(() => denoTreeFs.makeSymlink(odd, `${dir}/new`), SystemCallError);
  assert(made.message.includes("--allow-ffi"), made.message);
  assertThrows(() => Deno.lstatSync(`${dir}/new`), Deno.errors.NotFound);
});

fsTest("identity: the effective user and the umask, the probe removed", (dir) => {
  assertEquals(denoTreeFs.identity(dir), { uid: effectiveUid(), umask: currentUmask() });
  assertEquals(libcTreeFs.identity(dir), { uid: effectiveUid(), umask: currentUmask() });
  assertEquals([...Deno.readDirSync(dir)], []);
});

// Only root gives files away.
fsTest("owners change on a symlink itself", async (dir) => {
  await Deno.writeTextFile(`${dir}/file`, "x");
  await Deno.symlink("file", `${dir}/link`);
  denoTreeFs.changeOwner(`${dir}/link`, 4242, 4343);
  assertEquals([statFile(`${dir}/link`).uid, statFile(`${dir}/link`).gid], [4242, 4343]);
  assertEquals(statFile(`${dir}/file`).uid, 0);
}, !IS_ROOT);

Deno.test("tree fs: only the C library makes nodes and handles attributes", () => {
  assertEquals(denoTreeFs.makeNode, undefined);
  assertEquals(denoTreeFs.xattrs, undefined);
  assert(libcTreeFs.makeNode && libcTreeFs.xattrs);
});

fsTest("the choice follows the FFI permission, without a prompt", async (dir) => {
  assertEquals(selectTreeFs().kind, "libc"); // these tests run with --allow-all
  const module = new URL("../../src/util/tree_fs.ts", import.meta.url).href;
  await Deno.writeTextFile(
    `${dir}/which.ts`,
    `import { selectTreeFs } from "${module}";\nconsole.log(selectTreeFs().kind);\n`,
  );
  // stdin is a pipe: a prompt would show as a hang or as text on stderr.
  const run = (flags: string[]) =>
    runTool(Deno.execPath(), ["run", "--quiet", ...flags, `${dir}/which.ts`], {
      stdin: new Uint8Array(),
    });
  const without = await run([]);
  assertEquals([without.stdout.trim(), without.stderr], ["deno", ""]);
  assertEquals((await run(["--allow-ffi"])).stdout.trim(), "libc");
});
