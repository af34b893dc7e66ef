/**
 * untar on hostile archives and hostile targets: nothing may land outside the
 * target, and a failed unpack into a new directory leaves nothing behind.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { ArchiveFormatError, DesyncError } from "../../src/errors.ts";
import { S_IFLNK } from "../../src/format/catar.ts";
import { untar } from "../../src/ops/untar.ts";
import { currentUmask, effectiveUid, statFile } from "../../src/util/posix.ts";
import { denoTreeFs, libcTreeFs, type TreeFs } from "../../src/util/tree_fs.ts";
import { userDb } from "../../src/util/user_db.ts";
import { MAIN, mustRun, PERMISSIONS, removeDir, tempDir } from "../helpers.ts";
import { RUNTIME_FLAGS } from "../../scripts/permissions.ts";
import { buildArchive, directory, file, type TestNode, wideTree } from "../format/catar_builder.ts";

function feedOf(archive: Uint8Array, piece = 1000) {
  return async (push: (bytes: Uint8Array) => Promise<void>) => {
    for (let i = 0; i < archive.length; i += piece) await push(archive.slice(i, i + piece));
  };
}

async function unpack(archive: Uint8Array, target: string, fs?: TreeFs) {
  return await untar({ target, source: "test.catar", feed: feedOf(archive), fs });
}

function untarTest(name: string, fn: (dir: string) => Promise<void>) {
  Deno.test(`untar: ${name}`, async (t) => {
    const dir = await tempDir(t);
    try {
      await fn(dir);
    } finally {
      await removeDir(dir);
    }
  });
}

/**
 * Runs deno with `args` under the umask `umask`, in a process of its own: the
 * umask is the process's, and the test modules run in this one in parallel (a
 * file another test made meanwhile would get it, and its mode, not checked
 * after the probe, would stay wrong). Returns what it printed.
 */
async function denoUnderUmask(umask: number, args: string[]): Promise<string> {
  const set = `umask ${umask.toString(8).padStart(3, "0")} && exec "$@"`;
  return (await mustRun("sh", ["-c", set, "sh", Deno.execPath(), ...args])).stdout;
}

untarTest("a new tree's entry mode is learned from its probe whatever the umask", async (dir) => {
  // Files are made as untar makes them (open with a mode, which the umask cuts):
  // a probe file whose mode came out otherwise would have every file stat'ed.
  const untarModule = JSON.stringify(new URL("../../src/ops/untar.ts", import.meta.url).href);
  const probe = `import { newEntryMode } from ${untarModule};\n` +
    `console.log(newEntryMode(${JSON.stringify(dir)})?.mask);`;
  for (const umask of [0o022, 0o077, 0o002]) {
    assertEquals((await denoUnderUmask(umask, ["eval", probe])).trim(), String(0o777 & ~umask));
  }
  assertEquals(listing(dir), []);
});

function listing(dir: string): string[] {
  return Array.from(Deno.readDirSync(dir), (entry) => entry.name).sort();
}

const link = (name: string, target: string): TestNode => ({
  name,
  mode: S_IFLNK | 0o777,
  target,
});

for (const fs of [libcTreeFs, denoTreeFs]) {
  untarTest(
    `a symlink already in the target is replaced, never written through (${fs.kind})`,
    async (dir) => {
      const outside = `${dir}/outside`;
      const target = `${dir}/target`;
      await Deno.mkdir(outside);
      await Deno.mkdir(target);
      await Deno.writeTextFile(`${outside}/secret`, "keep");
      await Deno.symlink(outside, `${target}/a`);
      await Deno.symlink(`${outside}/secret`, `${target}/f`);
      await unpack(
        buildArchive(directory(undefined, [directory("a", [file("x", "1")]), file("f", "2")])),
        target,
        fs,
      );
      assertEquals(listing(outside), ["secret"]);
      assertEquals(await Deno.readTextFile(`${outside}/secret`), "keep");
      assert((await Deno.lstat(`${target}/a`)).isDirectory);
      assertEquals(await Deno.readTextFile(`${target}/a/x`), "1");
      assert((await Deno.lstat(`${target}/f`)).isFile);
      assertEquals(await Deno.readTextFile(`${target}/f`), "2");
      assertEquals(listing(target), ["a", "f"], "no probe or temporary is left");
    },
  );
}

untarTest("entries leading outside are refused naming the entry; nothing is left", async (dir) => {
  await Deno.mkdir(`${dir}/work`);
  const target = `${dir}/work/target`;
  const cases: [TestNode, string][] = [
    [directory(undefined, [directory("..", [file("escaped", "x")])]), '".."'],
    [directory(undefined, [file("../escaped", "x")]), '"../escaped"'],
    [directory(undefined, [file("/tmp/escaped", "x")]), '"/tmp/escaped"'],
    // A symlink, then a directory of the same name to write through it.
    [
      directory(undefined, [link("a", dir), directory("a", [file("escaped", "x")])]),
      '"a" appears twice',
    ],
  ];
  for (const [tree, named] of cases) {
    const error = await assertRejects(
      () => unpack(buildArchive(tree), target),
      ArchiveFormatError,
    );
    assert(error.message.includes(named), error.message);
    assertEquals(listing(`${dir}/work`), [], "the new target and its temporary are gone");
  }
  assertEquals(listing(dir), ["work"]);
});

untarTest("a truncated archive leaves no target and no temporary", async (dir) => {
  const archive = buildArchive(directory(undefined, [file("a", "x".repeat(5000)), file("b", "y")]));
  await assertRejects(
    () => unpack(archive.subarray(0, 3000), `${dir}/target`),
    ArchiveFormatError,
    "truncated",
  );
  assertEquals(listing(dir), []);
});

untarTest("a file where the target has a directory is an error naming it", async (dir) => {
  const target = `${dir}/target`;
  await Deno.mkdir(`${target}/a`, { recursive: true });
  await Deno.writeTextFile(`${target}/a/keep`, "k");
  await assertRejects(
    () => unpack(buildArchive(directory(undefined, [file("a", "x")])), target),
    DesyncError,
    `${target}/a: cannot put in place`,
  );
  assertEquals(await Deno.readTextFile(`${target}/a/keep`), "k");
  assertEquals(listing(target), ["a"], "no temporary is left beside it");
});

untarTest(
  "symlinks are made as stored, even absolute or dangling, and not followed",
  async (dir) => {
    const target = `${dir}/target`;
    await unpack(
      buildArchive(directory(undefined, [link("abs", "/etc/passwd"), link("up", "../../nowhere")])),
      target,
    );
    assertEquals(await Deno.readLink(`${target}/abs`), "/etc/passwd");
    assertEquals(await Deno.readLink(`${target}/up`), "../../nowhere");
  },
);

for (const fs of [libcTreeFs, denoTreeFs]) {
  untarTest(
    `modes and times are set after a read-only directory's entries are in (${fs.kind})`,
    async (dir) => {
      const target = `${dir}/target`;
      await untar({
        target,
        source: "test.catar",
        fs,
        feed: feedOf(buildArchive({
          ...directory(undefined, [{
            ...directory("ro", [{ ...file("inside", "x", 0o400), mtimeNs: 1_999_999_999n }], 0o555),
            mtimeNs: 5n,
          }]),
          mtimeNs: 1_000_000_000_000_000_007n,
        })),
      });
      assertEquals((await Deno.stat(`${target}/ro`)).mode! & 0o7777, 0o555);
      assertEquals((await Deno.stat(`${target}/ro/inside`)).mode! & 0o7777, 0o400);
      assertEquals(await Deno.readTextFile(`${target}/ro/inside`), "x");
      // The C library sets nanoseconds; Deno alone, milliseconds (the rest cut off).
      const exact = fs === libcTreeFs;
      assertEquals(
        statFile(`${target}/ro/inside`).mtimeNs,
        exact ? 1_999_999_999n : 1_999_000_000n,
      );
      assertEquals(statFile(`${target}/ro`).mtimeNs, exact ? 5n : 0n);
      assertEquals(
        statFile(target).mtimeNs,
        exact ? 1_000_000_000_000_000_007n : 1_000_000_000_000_000_000n,
      );
      await Deno.chmod(`${target}/ro`, 0o755);
    },
  );

  untarTest(
    `owners and special mode bits are restored, or not when asked (${fs.kind})`,
    async (dir) => {
      const archive = buildArchive(directory(undefined, [
        { ...link("link", "plain"), uid: 2, gid: 2 },
        { ...file("plain", "y", 0o640), uid: 4242, gid: 4343, user: "daemon", group: "daemon" },
        { ...file("suid", "x", 0o4755), uid: 1, gid: 1 },
      ]));
      const umask = currentUmask();
      const sameOwner = effectiveUid() === 0;
      await untar({
        target: `${dir}/as-archived`,
        source: "test.catar",
        feed: feedOf(archive),
        fs,
        users: userDb(),
      });
      const suid = statFile(`${dir}/as-archived/suid`);
      assertEquals(suid.mode & 0o7777, 0o4755);
      if (sameOwner) {
        // Owners are restored by default as root; a name known here wins over the number, as in casync.
        assertEquals([suid.uid, suid.gid], [1, 1]);
        const plain = statFile(`${dir}/as-archived/plain`);
        assertEquals([plain.uid, plain.gid, plain.mode & 0o7777], [1, 1, 0o640]);
        const symlink = statFile(`${dir}/as-archived/link`);
        assertEquals([symlink.uid, symlink.gid], [2, 2]);
      } else {
        assertEquals(suid.uid, effectiveUid());
      }
      await untar({
        target: `${dir}/mine`,
        source: "test.catar",
        feed: feedOf(archive),
        fs,
        sameOwner: false,
        samePermissions: false,
      });
      const mine = statFile(`${dir}/mine/suid`);
      assertEquals(mine.uid, effectiveUid());
      assertEquals(mine.mode & 0o7777, 0o755 & ~umask);
    },
  );

  untarTest(
    `a new tree's files get the archived modes whatever the umask took at creation (${fs.kind})`,
    async (dir) => {
      // Files in a tree of untar's own are not stat'ed after writing: what the umask
      // takes is learned once, so a mode it cut must still be set, and one it left not.
      const archive = buildArchive(directory(undefined, [
        file("open", "x", 0o666),
        file("private", "y", 0o600),
        directory("sub", [file("deep", "z", 0o757)]),
      ]));
      // The command, whose file-system access is the C library's when FFI is granted.
      await Deno.writeFile(`${dir}/t.catar`, archive);
      const flags = [...PERMISSIONS.local, ...(fs === libcTreeFs ? ["--allow-ffi"] : [])];
      const command = ["run", "--quiet", ...flags, ...RUNTIME_FLAGS, MAIN, "untar"];
      await denoUnderUmask(0o077, [...command, `${dir}/t.catar`, `${dir}/exact`]);
      const masked = ["--no-same-permissions", `${dir}/t.catar`, `${dir}/masked`];
      await denoUnderUmask(0o077, [...command, ...masked]);
      const modes = (root: string) =>
        ["open", "private", "sub/deep"].map((name) => statFile(`${root}/${name}`).mode & 0o7777);
      assertEquals(modes(`${dir}/exact`), [0o666, 0o600, 0o757]);
      assertEquals(modes(`${dir}/masked`), [0o600, 0o600, 0o700]);
    },
  );

  untarTest(
    `files made in a setgid directory get the archived group (${fs.kind})`,
    async (dir) => {
      if (effectiveUid() !== 0) return; // owners are only restored as root
      // A new file takes the setgid directory's group: whether it must be changed
      // is known without asking each file.
      await Deno.mkdir(`${dir}/shared`);
      Deno.chownSync(`${dir}/shared`, 0, 4343);
      Deno.chmodSync(`${dir}/shared`, 0o2755);
      const archive = buildArchive(directory(undefined, [
        { ...file("ours", "x"), uid: 0, gid: 4343 },
        directory("sub", [{ ...file("deep", "z"), uid: 7, gid: 4343 }]),
        { ...file("theirs", "y"), uid: 0, gid: 0 },
      ]));
      await untar({ target: `${dir}/shared/tree`, source: "t", feed: feedOf(archive), fs });
      const owner = (name: string) => {
        const info = statFile(`${dir}/shared/tree/${name}`);
        return [info.uid, info.gid];
      };
      assertEquals([owner("ours"), owner("theirs"), owner("sub/deep")], [[0, 4343], [0, 0], [
        7,
        4343,
      ]]);
    },
  );
}

untarTest(
  "without FFI, a FIFO is refused naming it and --allow-ffi; nothing is left",
  async (dir) => {
    const archive = buildArchive(
      directory(undefined, [file("a", "x"), { name: "pipe", mode: 0o010644 }]),
    );
    const error = await assertRejects(
      () =>
        untar({ target: `${dir}/t`, source: "test.catar", feed: feedOf(archive), fs: denoTreeFs }),
      DesyncError,
    );
    assertEquals(
      error.message,
      `${dir}/t/pipe: cannot create a FIFO without --allow-ffi (Deno's own API makes no device ` +
        "nodes, FIFOs or sockets)",
    );
    assertEquals(listing(dir), []);
  },
);

untarTest("a stop signal is heeded within a push of thousands of entries", async (dir) => {
  // 12 000 small files in one push: making them all takes seconds, more than
  // a stopped command may take to exit.
  const root = wideTree(100, 120);
  const archive = buildArchive(root);
  const controller = new AbortController();
  const started = performance.now();
  const timer = setTimeout(() => controller.abort(new DesyncError("stopped")), 100);
  const error = await assertRejects(
    () =>
      untar({
        target: `${dir}/out`,
        source: "t.catar",
        feed: (push) => push(archive),
        fs: denoTreeFs,
        signal: controller.signal,
      }),
    DesyncError,
  );
  clearTimeout(timer);
  const ms = performance.now() - started - 100;
  assertEquals(error.message, "stopped");
  assert(ms < 500, `failed ${ms.toFixed(0)} ms after the signal`);
  assertEquals(listing(dir), []);
});
