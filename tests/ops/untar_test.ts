/**
 * untar on hostile archives and hostile targets: nothing may land outside the
 * target, and a failed unpack into a new directory leaves nothing behind.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { ArchiveFormatError, DesyncError } from "../../src/errors.ts";
import { S_IFLNK } from "../../src/format/catar.ts";
import { untar } from "../../src/ops/untar.ts";
import { currentUmask, effectiveUid, statFile } from "../../src/util/posix.ts";
import { loadUserDb } from "../../src/util/user_db.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { buildArchive, directory, file, type TestNode } from "../format/catar_builder.ts";

function feedOf(archive: Uint8Array, piece = 1000) {
  return async (push: (bytes: Uint8Array) => Promise<void>) => {
    for (let i = 0; i < archive.length; i += piece) await push(archive.slice(i, i + piece));
  };
}

async function unpack(archive: Uint8Array, target: string) {
  return await untar({ target, source: "test.catar", feed: feedOf(archive) });
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

function listing(dir: string): string[] {
  return Array.from(Deno.readDirSync(dir), (entry) => entry.name).sort();
}

const link = (name: string, target: string): TestNode => ({
  name,
  mode: S_IFLNK | 0o777,
  target,
});

untarTest("a symlink already in the target is replaced, never written through", async (dir) => {
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
  );
  assertEquals(listing(outside), ["secret"]);
  assertEquals(await Deno.readTextFile(`${outside}/secret`), "keep");
  assert((await Deno.lstat(`${target}/a`)).isDirectory);
  assertEquals(await Deno.readTextFile(`${target}/a/x`), "1");
  assert((await Deno.lstat(`${target}/f`)).isFile);
  assertEquals(await Deno.readTextFile(`${target}/f`), "2");
});

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

untarTest("modes and times are set after a read-only directory's entries are in", async (dir) => {
  const target = `${dir}/target`;
  await unpack(
    buildArchive({
      ...directory(undefined, [{
        ...directory("ro", [file("inside", "x", 0o400)], 0o555),
        mtimeNs: 5n,
      }]),
      mtimeNs: 1_000_000_000_000_000_007n,
    }),
    target,
  );
  assertEquals((await Deno.stat(`${target}/ro`)).mode! & 0o7777, 0o555);
  assertEquals((await Deno.stat(`${target}/ro/inside`)).mode! & 0o7777, 0o400);
  assertEquals(await Deno.readTextFile(`${target}/ro/inside`), "x");
  assertEquals(statFile(`${target}/ro`).mtimeNs, 5n);
  assertEquals(statFile(target).mtimeNs, 1_000_000_000_000_000_007n);
  await Deno.chmod(`${target}/ro`, 0o755);
});

untarTest("owners and special mode bits are restored, or not when asked", async (dir) => {
  const archive = buildArchive(directory(undefined, [
    { ...file("plain", "y", 0o640), uid: 4242, gid: 4343, user: "daemon", group: "daemon" },
    { ...file("suid", "x", 0o4755), uid: 1, gid: 1 },
  ]));
  const umask = currentUmask();
  await untar({
    target: `${dir}/as-archived`,
    source: "test.catar",
    feed: feedOf(archive),
    sameOwner: true,
    users: await loadUserDb(),
  });
  const suid = statFile(`${dir}/as-archived/suid`);
  assertEquals([suid.uid, suid.gid, suid.mode & 0o7777], [1, 1, 0o4755]);
  // A name known here wins over the number, as in casync.
  const plain = statFile(`${dir}/as-archived/plain`);
  assertEquals([plain.uid, plain.gid, plain.mode & 0o7777], [1, 1, 0o640]);
  await untar({
    target: `${dir}/mine`,
    source: "test.catar",
    feed: feedOf(archive),
    sameOwner: false,
    samePermissions: false,
  });
  const mine = statFile(`${dir}/mine/suid`);
  assertEquals(mine.uid, effectiveUid());
  assertEquals(mine.mode & 0o7777, 0o755 & ~umask);
});
