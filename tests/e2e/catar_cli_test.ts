/**
 * tar, untar and mtree as a user runs them: the README's permission flags,
 * standard input and output, exclusions, and one clear line for each failure.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { MAIN, runCli, runTool, tempDirTest } from "../helpers.ts";
import { COMMAND_PERMISSIONS } from "../../scripts/permissions.ts";
import { buildArchive, directory, file } from "../format/catar_builder.ts";
import { casyncMtree, makeTree, PLAIN_TREE, WITH_FFI } from "../interop/catar_tree.ts";
import { CASYNC_MISSING } from "../interop/casync_fixture.ts";
import { servePuts } from "../fixtures/put_server.ts";
import { makeNode, makeSymlink, setXattr } from "../../src/util/posix.ts";

/** The README's flags: without FFI. */
const TAR = COMMAND_PERMISSIONS.tar;
const UNTAR = COMMAND_PERMISSIONS.untar;
const MTREE = COMMAND_PERMISSIONS.mtree;

function e2e(name: string, fn: (dir: string) => Promise<void>, ignore: string | false = false) {
  tempDirTest(`cli catar: ${name}`, fn, ignore);
}

function oneLine(stderr: string, pattern: RegExp) {
  assertEquals(stderr.trim().split("\n").length, 1, `want one line on stderr, got: ${stderr}`);
  assertMatch(stderr, pattern);
}

e2e(
  "tar to stdout, untar from stdin (with --allow-ffi): the tree comes back whole",
  async (dir) => {
    await Deno.mkdir(`${dir}/tree`);
    await makeTree(`${dir}/tree`, { largeSize: 1 << 20 });
    const tarred = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        ...WITH_FFI.tar,
        MAIN,
        "tar",
        "-",
        `${dir}/tree`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(tarred.code, 0, new TextDecoder().decode(tarred.stderr));
    const untarred = await runCli(["untar", "-", `${dir}/out`], WITH_FFI.untar, {
      stdin: tarred.stdout,
    });
    assertEquals(untarred.code, 0, untarred.stderr);
    const listed = await runCli(["mtree", "-"], MTREE, { stdin: tarred.stdout });
    assertEquals(listed.code, 0, listed.stderr);
    assertMatch(listed.stdout, /^#mtree v1\.0\n\. type=dir /);
    assertMatch(
      listed.stdout,
      /\nlarge type=file mode=0644 uid=0 gid=0 size=1048576 time=\d+\.\d{9} sha512256digest=[0-9a-f]{64}\n/,
    );
    if (!CASYNC_MISSING) {
      assertEquals(await casyncMtree(`${dir}/out`), await casyncMtree(`${dir}/tree`));
    }
  },
);

e2e("--exclude leaves out names at any depth and paths below the source", async (dir) => {
  await Deno.mkdir(`${dir}/tree/sub/build`, { recursive: true });
  for (const path of ["keep.c", "drop.o", "sub/drop.o", "sub/build/x", "sub/keep"]) {
    await Deno.writeTextFile(`${dir}/tree/${path}`, path);
  }
  const made = await runCli(
    ["tar", "--exclude", "*.o", "--exclude", "sub/build", `${dir}/t.catar`, `${dir}/tree`],
    TAR,
  );
  assertEquals(made.code, 0, made.stderr);
  const listed = await runCli(["mtree", `${dir}/t.catar`], MTREE);
  const paths = listed.stdout.split("\n").slice(1).filter(Boolean).map((l) => l.split(" ")[0]);
  assertEquals(paths, [".", "keep.c", "sub", "sub/keep"]);
});

e2e(
  "a hostile archive is refused with one line naming the entry; nothing is written",
  async (dir) => {
    const archive = buildArchive(
      directory(undefined, [file("ok", "fine"), file("../escape", "x")]),
    );
    await Deno.writeFile(`${dir}/evil.catar`, archive);
    const result = await runCli(["untar", `${dir}/evil.catar`, `${dir}/out`], UNTAR);
    assertEquals(result.code, 1);
    oneLine(
      result.stderr,
      /^desync: .*evil\.catar: invalid archive: .*"\.\.\/escape" contains a slash/,
    );
    assertEquals(Array.from(Deno.readDirSync(dir), (e) => e.name), ["evil.catar"]);
    const listed = await runCli(["mtree", `${dir}/evil.catar`], MTREE);
    assertEquals(listed.code, 1);
    assertMatch(listed.stderr, /invalid archive/);
  },
);

e2e("without --allow-ffi tar records whole seconds and no attributes", async (dir) => {
  await Deno.mkdir(`${dir}/tree`);
  await makeTree(`${dir}/tree`, { largeSize: 1 << 20 });
  const made = await runCli(["tar", `${dir}/t.catar`, `${dir}/tree`], TAR);
  assertEquals(made.code, 0, made.stderr);
  assertEquals(made.stderr, "");
  // casync's flags: 32bit-uids, user-names, sec-time, permissions, symlinks, device-nodes,
  // fifos, sockets (caformat.h) and SHA512/256; no nsec-time, xattrs or fcaps.
  const archive = await Deno.readFile(`${dir}/t.catar`);
  assertEquals(new DataView(archive.buffer).getBigUint64(16, true), 0x2000000000001f0en);
  const listed = await runCli(["mtree", `${dir}/t.catar`], MTREE);
  const times = listed.stdout.match(/time=\d+\.\d{9}/g)!;
  assert(times.length > 100);
  assert(times.every((time) => time.endsWith(".000000000")), "whole seconds");
  assertMatch(listed.stdout, /\nfifo type=fifo /);
  assertMatch(listed.stdout, /\nsocket type=socket /);
});

e2e("without --allow-ffi untar names the entry it cannot make; nothing is left", async (dir) => {
  const cases: [string, (tree: string) => void, RegExp][] = [
    [
      "fifo",
      (tree) => makeNode(`${tree}/fifo`, 0o010644),
      /^desync: .*\/out\/fifo: cannot create a FIFO without --allow-ffi/,
    ],
    [
      "xattr",
      (tree) => {
        Deno.writeTextFileSync(`${tree}/f`, "x");
        setXattr(`${tree}/f`, new TextEncoder().encode("user.note"), new Uint8Array([1]));
      },
      /^desync: .*\/out\/f: cannot restore its extended attributes without --allow-ffi/,
    ],
  ];
  for (const [name, make, message] of cases) {
    const tree = `${dir}/${name}`;
    await Deno.mkdir(tree);
    make(tree);
    const made = await runCli(["tar", `${dir}/${name}.catar`, tree], WITH_FFI.tar);
    assertEquals(made.code, 0, made.stderr);
    const result = await runCli(["untar", `${dir}/${name}.catar`, `${dir}/out`], UNTAR);
    assertEquals(result.code, 1, name);
    oneLine(result.stderr, message);
    assert(!Deno.readDirSync(dir).some((e) => e.name.includes("out")), "no target is left");
    const full = await runCli(["untar", `${dir}/${name}.catar`, `${dir}/out`], WITH_FFI.untar);
    assertEquals(full.code, 0, full.stderr);
    await Deno.remove(`${dir}/out`, { recursive: true });
  }
});

e2e("a symlink target that is not UTF-8 needs --allow-ffi, both ways", async (dir) => {
  await Deno.mkdir(`${dir}/tree`);
  makeSymlink(new Uint8Array([0x61, 0xff, 0x62]), `${dir}/tree/odd`);
  const refused = await runCli(["tar", `${dir}/t.catar`, `${dir}/tree`], TAR);
  assertEquals(refused.code, 1);
  oneLine(
    refused.stderr,
    /^desync: .*\/tree\/odd: cannot read the link: its target is not UTF-8.*--allow-ffi/,
  );
  assert(!Deno.readDirSync(dir).some((e) => e.name.includes("t.catar")));
  const made = await runCli(["tar", `${dir}/t.catar`, `${dir}/tree`], WITH_FFI.tar);
  assertEquals(made.code, 0, made.stderr);
  const unpacked = await runCli(["untar", `${dir}/t.catar`, `${dir}/out`], UNTAR);
  assertEquals(unpacked.code, 1);
  oneLine(unpacked.stderr, /^desync: .*\/out\/odd: cannot create: its target is not UTF-8/);
});

e2e("usage errors exit 2; a missing source is one line", async (dir) => {
  await Deno.mkdir(`${dir}/tree`);
  const storeWithoutIndex = await runCli(
    ["tar", "-s", `${dir}/s`, `${dir}/t.catar`, `${dir}/tree`],
    TAR,
  );
  assertEquals(storeWithoutIndex.code, 2);
  oneLine(storeWithoutIndex.stderr, /-s and -m\/--chunk-size go with -i/);
  const badGlob = await runCli(["tar", "--exclude", "[x", `${dir}/t.catar`, `${dir}/tree`], TAR);
  assertEquals(badGlob.code, 2);
  const notDir = await runCli(["tar", `${dir}/t.catar`, `${dir}/nope`], TAR);
  assertEquals(notDir.code, 1);
  oneLine(notDir.stderr, /^desync: .*nope: cannot stat: No such file or directory/);
  assertEquals(Array.from(Deno.readDirSync(dir), (e) => e.name), ["tree"]);
});

e2e(
  "untar -i fetches from the store; a missing chunk is named and leaves no target",
  async (dir) => {
    await Deno.mkdir(`${dir}/tree`);
    await makeTree(`${dir}/tree`, { ...PLAIN_TREE, largeSize: 2 << 20 });
    const made = await runCli(
      ["tar", "-i", "-s", `${dir}/store`, `${dir}/t.caidx`, `${dir}/tree`],
      TAR,
    );
    assertEquals(made.code, 0, made.stderr);
    const ok = await runCli(
      ["untar", "-i", "-s", `${dir}/store`, `${dir}/t.caidx`, `${dir}/out`],
      UNTAR,
    );
    assertEquals(ok.code, 0, ok.stderr);
    const listed = await runTool("diff", [
      "-r",
      "--no-dereference",
      `${dir}/tree/large`,
      `${dir}/out/large`,
    ]);
    assertEquals(listed.code, 0);
    // Remove one chunk: the unpack fails naming it, and no half tree is left.
    const prefix = Array.from(Deno.readDirSync(`${dir}/store`))[0].name;
    const chunk = Array.from(Deno.readDirSync(`${dir}/store/${prefix}`))[0].name;
    await Deno.remove(`${dir}/store/${prefix}/${chunk}`);
    const missing = await runCli([
      "untar",
      "-i",
      "-s",
      `${dir}/store`,
      `${dir}/t.caidx`,
      `${dir}/out2`,
    ], UNTAR);
    assertEquals(missing.code, 1);
    oneLine(missing.stderr, new RegExp(`^desync: chunk ${chunk.slice(0, 64)} missing`));
    assert(!Deno.readDirSync(dir).some((e) => e.name.includes("out2")));
  },
);

e2e("make on a catar keeps its feature flags, and its digest must agree", async (dir) => {
  const archive = buildArchive(directory(undefined, [file("a", "x".repeat(100_000))]));
  await Deno.writeFile(`${dir}/a.catar`, archive);
  const made = await runCli(["make", `${dir}/a.caidx`, `${dir}/a.catar`], COMMAND_PERMISSIONS.make);
  assertEquals(made.code, 0, made.stderr);
  const header = new DataView((await Deno.readFile(`${dir}/a.caidx`)).buffer);
  assertEquals(header.getBigUint64(16, true), new DataView(archive.buffer).getBigUint64(16, true));
  const wrong = await runCli(
    ["make", "--digest", "sha256", `${dir}/b.caidx`, `${dir}/a.catar`],
    COMMAND_PERMISSIONS.make,
  );
  assertEquals(wrong.code, 2);
  oneLine(
    wrong.stderr,
    /a\.catar is a catar archive made for sha512-256 chunk IDs; give --digest sha512-256/,
  );
});

e2e("tar -i writes its index where make would: here with PUT to an HTTP URL", async (dir) => {
  await Deno.mkdir(`${dir}/tree`);
  await makeTree(`${dir}/tree`, PLAIN_TREE);
  const server = servePuts();
  try {
    const url = `${server.url}/indexes/t.caidx`;
    const flags = [...TAR, "--allow-net=127.0.0.1"];
    const remote = await runCli(["tar", "-i", url, `${dir}/tree`], flags);
    assertEquals(remote.code, 0, remote.stderr);
    const local = await runCli(["tar", "-i", `${dir}/t.caidx`, `${dir}/tree`], TAR);
    assertEquals(local.code, 0, local.stderr);
    assertEquals(server.received.get("/indexes/t.caidx"), await Deno.readFile(`${dir}/t.caidx`));
  } finally {
    await server.close();
  }
});

e2e("tar into a pipe that closes early stops quietly, as cat and mtree do", async (dir) => {
  await Deno.mkdir(`${dir}/tree`);
  await Deno.writeFile(`${dir}/tree/big`, new Uint8Array(4 << 20));
  const command = [Deno.execPath(), "run", "--quiet", ...TAR, MAIN, "tar", "-", `${dir}/tree`]
    .map((word) => `'${word}'`).join(" ");
  const result = await runTool("bash", ["-c", `set -o pipefail; ${command} | head -c 100 | wc -c`]);
  assertEquals(result.stdout.trim(), "100");
  assertEquals(result.stderr, "");
  assertEquals(result.code, 0);
});
