/**
 * Go desync as a second oracle for archives: it unpacks ours and we unpack its
 * own, as catar and as .caidx with a store. Where it and casync differ, casync
 * wins and the tests say so: this build of Go desync (v1.0.0+8) does not
 * restore the times of non-empty directories and of symlinks, and it cannot
 * archive FIFOs and sockets (it writes a name without its entry, an archive
 * casync refuses, and so do we), and its extended attribute records end with
 * a NUL that casync's lack (each reads the other's with one byte more or less).
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { mustRun, removeDir, REPO, runCli, runTool, tempDir } from "../helpers.ts";
import {
  ARCHIVE_MODES,
  casyncMtree,
  desyncOk,
  DIFF_MISSING,
  diffTrees,
  PLAIN_TREE,
  treeTests,
  WITH_FFI,
  WITHOUT_FFI,
  xattrListing,
} from "./catar_tree.ts";
import { CASYNC_MISSING } from "./casync_fixture.ts";
import { COMMAND_PERMISSIONS } from "../../scripts/permissions.ts";
import { S_IFDIR, S_IFLNK, S_IFMT } from "../../src/format/catar.ts";
import { type FileStat, setXattr, statFile } from "../../src/util/posix.ts";

/** The Go desync binary beside the repository (or beside its worktree's parent). */
export const DESYNC_GO = [`${REPO}../shared/peers/desync-go`, `${REPO}../../shared/peers/desync-go`]
  .find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });

const IGNORE = !DESYNC_GO ? "needs the Go desync at ../shared/peers/desync-go" : DIFF_MISSING;

/** Every entry's stat data under `root`, by relative path. */
function statTree(root: string): Map<string, FileStat> {
  const out = new Map<string, FileStat>();
  const walk = (relative: string) => {
    const path = relative ? `${root}/${relative}` : root;
    const info = statFile(path);
    out.set(relative || ".", info);
    if ((info.mode & S_IFMT) !== S_IFDIR) return;
    for (const entry of Deno.readDirSync(path)) {
      walk(relative ? `${relative}/${entry.name}` : entry.name);
    }
  };
  walk("");
  return out;
}

/**
 * Same entries, types, modes, owners, sizes, device numbers and times (cut to
 * `stepNs`); times of directories and symlinks only when `allTimes` (Go desync
 * does not set them).
 */
function assertSameMetadata(expected: string, actual: string, allTimes: boolean, stepNs = 1n) {
  const a = statTree(expected);
  const b = statTree(actual);
  assertEquals([...b.keys()].sort(), [...a.keys()].sort());
  for (const [path, want] of a) {
    const got = b.get(path)!;
    const type = want.mode & S_IFMT;
    const timeKept = allTimes || (type !== S_IFDIR && type !== S_IFLNK);
    const pick = (s: FileStat, step: bigint) => ({
      mode: s.mode,
      uid: s.uid,
      gid: s.gid,
      size: type === S_IFDIR ? 0 : s.size,
      rdev: `${s.rdevMajor}:${s.rdevMinor}`,
      mtimeNs: timeKept ? s.mtimeNs / step * step : 0n,
    });
    assertEquals(pick(got, 1n), pick(want, stepNs), path);
  }
}

const interop = treeTests("catar Go desync interop", IGNORE, {
  special: false,
  xattrs: false,
  largeSize: 3 << 20,
});

interop("Go desync unpacks our catar and .caidx", async (dir, tree) => {
  for (const mode of ARCHIVE_MODES) {
    const out = `${dir}/${mode === WITH_FFI ? "ffi" : "deno"}`;
    await desyncOk(["tar", `${out}.catar`, tree], mode.tar);
    await desyncOk(["tar", "-i", "-s", `${out}.store`, `${out}.caidx`, tree], mode.tar);
    // Without FFI our archives hold whole seconds.
    const step = mode === WITH_FFI ? 1n : 1_000_000_000n;
    await mustRun(DESYNC_GO!, ["untar", `${out}.catar`, `${out}-go-catar`]);
    assertEquals(await diffTrees(tree, `${out}-go-catar`), []);
    assertSameMetadata(tree, `${out}-go-catar`, false, step);
    await mustRun(DESYNC_GO!, [
      "untar",
      "-i",
      "-s",
      `${out}.store`,
      `${out}.caidx`,
      `${out}-go-caidx`,
    ]);
    assertEquals(await diffTrees(tree, `${out}-go-caidx`), []);
    assertSameMetadata(tree, `${out}-go-caidx`, false, step);
  }
});

/** Go desync's catar and .caidx of `tree`, unpacked by us under `mode`'s flags. */
async function unpackGoArchives(dir: string, tree: string, untar: readonly string[]) {
  await mustRun(DESYNC_GO!, ["tar", `${dir}/go.catar`, tree]);
  await Deno.mkdir(`${dir}/store`); // this build of Go desync wants it to exist
  await mustRun(DESYNC_GO!, ["tar", "-i", "-s", `${dir}/store`, `${dir}/go.caidx`, tree]);
  await desyncOk(["untar", `${dir}/go.catar`, `${dir}/from-catar`], untar);
  await desyncOk(
    ["untar", "-i", "-s", `${dir}/store`, `${dir}/go.caidx`, `${dir}/from-caidx`],
    untar,
  );
}

interop("we unpack Go desync's catar and .caidx, every time included", async (dir, tree) => {
  await unpackGoArchives(dir, tree, WITH_FFI.untar);
  for (const out of ["from-catar", "from-caidx"]) {
    assertEquals(await diffTrees(tree, `${dir}/${out}`), []);
    assertSameMetadata(tree, `${dir}/${out}`, true);
  }
});

treeTests("catar Go desync interop", IGNORE, { ...PLAIN_TREE, largeSize: 1 << 20 })(
  "without FFI we unpack Go desync's catar and .caidx, times to the millisecond",
  async (dir, tree) => {
    await unpackGoArchives(dir, tree, WITHOUT_FFI.untar);
    for (const out of ["from-catar", "from-caidx"]) {
      assertEquals(await diffTrees(tree, `${dir}/${out}`), []);
      assertSameMetadata(tree, `${dir}/${out}`, true, 1_000_000n);
    }
  },
);

interop("our mtree and Go desync's agree on every file's line", async (dir, tree) => {
  await desyncOk(["tar", `${dir}/ours.catar`, tree], WITH_FFI.tar);
  const mine = (await desyncOk(["mtree", `${dir}/ours.catar`], COMMAND_PERMISSIONS.mtree)).stdout;
  const theirs = (await mustRun(DESYNC_GO!, ["mtree", `${dir}/ours.catar`])).stdout;
  // We also print user and group names where the archive has them; this build of
  // Go desync prints only the permission bits of a mode (casync, and we, print
  // setuid/setgid/sticky too) and does not escape spaces (mtree(5), casync and we do).
  const unescape = (path: string) =>
    path.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8)));
  const files = (text: string) =>
    text.split("\n").filter((line) => line.includes(" type=file ")).map((line) => {
      const [path, ...fields] = line.split(/ (?=[a-z0-9]+=)/);
      return [
        unescape(path),
        ...fields.filter((f) => !/^[ug]name=/.test(f)).map((f) =>
          f.startsWith("mode=") ? `mode=${(parseInt(f.slice(5), 8) & 0o777).toString(8)}` : f
        ),
      ].join(" ");
    }).sort();
  assert(files(mine).length > 100);
  assertEquals(files(mine), files(theirs));
});

treeTests("catar Go desync interop", IGNORE || CASYNC_MISSING, { largeSize: 1 << 20 })(
  "Go desync's archive of a FIFO lacks its entry; casync and we refuse it",
  async (dir, tree) => {
    // Go desync skips the FIFO but has already written its FILENAME record.
    const go = await mustRun(DESYNC_GO!, ["tar", `${dir}/go.catar`, tree]);
    assert(go.stderr.includes("skipping 'fifo'"), go.stderr);
    const casync = await runTool("casync", ["extract", `${dir}/go.catar`, `${dir}/casync-out`]);
    assert(casync.code !== 0, "casync refuses it too");
    const result = await runCli(
      ["untar", `${dir}/go.catar`, `${dir}/out`],
      WITH_FFI.untar,
    );
    assertEquals(result.code, 1);
    assertMatch(
      result.stderr,
      /^desync: .*go\.catar: invalid archive: .*expected ENTRY for "fifo"\n$/,
    );
    assertEquals(Array.from(Deno.readDirSync(dir), (e) => e.name).sort(), [
      "casync-out",
      "go.catar",
      "tree",
    ]);
    // casync's archive of the same tree keeps the FIFO and the socket, and so do we.
    await mustRun("casync", ["make", `${dir}/theirs.catar`, tree]);
    await desyncOk(["untar", `${dir}/theirs.catar`, `${dir}/out`], WITH_FFI.untar);
    assertEquals(await casyncMtree(`${dir}/out`), await casyncMtree(tree));
  },
);

Deno.test({
  name: "catar Go desync interop: attribute values differ by a NUL between Go desync and casync",
  ignore: Boolean(IGNORE || CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      await Deno.mkdir(`${dir}/tree`);
      await Deno.writeTextFile(`${dir}/tree/f`, "hi");
      const name = new TextEncoder().encode("user.comment");
      setXattr(`${dir}/tree/f`, name, new TextEncoder().encode("hello"));
      // Go desync's archive: casync and we both read the value with its extra NUL.
      await mustRun(DESYNC_GO!, ["tar", `${dir}/go.catar`, `${dir}/tree`]);
      await mustRun("casync", ["extract", `${dir}/go.catar`, `${dir}/casync-out`]);
      await desyncOk(["untar", `${dir}/go.catar`, `${dir}/our-out`], WITH_FFI.untar);
      assertEquals(xattrListing(`${dir}/casync-out`), ["f user.comment=68656c6c6f00"]);
      assertEquals(xattrListing(`${dir}/our-out`), xattrListing(`${dir}/casync-out`));
      // Ours is casync's byte for byte; Go desync drops the value's last byte from it.
      await desyncOk(["tar", `${dir}/ours.catar`, `${dir}/tree`], WITH_FFI.tar);
      await mustRun(DESYNC_GO!, ["untar", `${dir}/ours.catar`, `${dir}/go-out`]);
      assertEquals(xattrListing(`${dir}/go-out`), ["f user.comment=68656c6c"]);
    } finally {
      await removeDir(dir);
    }
  },
});
