/**
 * A Go desync user's command lines, beyond tests/interop/go_cli_test.ts: every
 * flag Go desync's `--help` lists is one we parse, and the places where an
 * audit found us behaving otherwise (bare `desync`, `config -w`, `mtree DIR`,
 * the servers' `--writeable` and default address, `tar --no-time` and `-x`).
 * Expected values come from the Go binary (../shared/peers/desync-go, run here
 * when present) or from casync, never from our own output.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { buildProgram } from "../../src/cli/program.ts";
import { COMMAND_PERMISSIONS, FFI_PERMISSION } from "../../scripts/permissions.ts";
import { missingTools, mustRun, runCli, runTool, tempDirTest } from "../helpers.ts";
import { storeIds } from "../interop/casync_fixture.ts";
import { startServerProcess } from "../server/serve_helpers.ts";
import { GO_DESYNC, GO_MISSING } from "../interop/peers.ts";

const CASYNC_MISSING = missingTools("casync");

/**
 * Go desync's flags we do not take, each a feature of its own: reading a tar
 * stream (tar --input-format, --tar-add-root), writing one (untar
 * --output-format), a store list reloaded on SIGHUP (chunk-server --store-file;
 * SIGHUP stops our servers).
 */
const NOT_TAKEN = new Set([
  "tar --input-format",
  "tar --tar-add-root",
  "untar --output-format",
  "chunk-server --store-file",
]);

/** Go desync's flags we spell otherwise: its spelling is taken too, hidden from --help. */
const SPELLED_OTHERWISE: Record<string, string> = {
  "chunk-server --writeable": "--writable",
  "index-server --writeable": "--writable",
};

/** Go desync's commands that we do not have (README: Coming from Go desync). */
const GO_ONLY_COMMANDS = new Set(["help", "mount-index"]);

interface GoFlag {
  short?: string;
  long: string;
  takesValue: boolean;
}

/** The flags of a Go desync `--help` text (cobra's "  -s, --store strings   ..." lines). */
function goFlags(help: string): GoFlag[] {
  const flags: GoFlag[] = [];
  for (const line of help.split("\n")) {
    const match = /^\s+(?:-(\w), )?--([\w-]+)(?: (\w+))?\s{2,}/.exec(line);
    if (match && match[2] !== "help") {
      flags.push({ short: match[1], long: match[2], takesValue: match[3] !== undefined });
    }
  }
  return flags;
}

Deno.test({
  name: "go compat: every command and flag Go desync's --help lists is one we parse",
  ignore: Boolean(GO_MISSING),
  async fn() {
    const program = await buildProgram();
    const listing = (await mustRun(GO_DESYNC, ["help"])).stdout;
    const goCommands = listing.split("Available Commands:\n")[1].split("\n\n")[0]
      .split("\n").map((line) => line.trim().split(/\s+/)[0]).filter(Boolean);
    assert(goCommands.length > 15, listing);
    const problems: string[] = [];
    for (const name of goCommands) {
      if (GO_ONLY_COMMANDS.has(name)) continue;
      const command = program.commands.find((c) => c.name() === name);
      if (!command) {
        problems.push(`no command ${name}`);
        continue;
      }
      const options = [...command.options, ...program.options];
      const help = (await mustRun(GO_DESYNC, [name, "--help"])).stdout;
      for (const flag of goFlags(help)) {
        if (NOT_TAKEN.has(`${name} --${flag.long}`)) continue;
        const ours = options.find((option) => option.long === `--${flag.long}`);
        if (!ours) {
          problems.push(`${name} --${flag.long}: not taken`);
          continue;
        }
        const spelled = SPELLED_OTHERWISE[`${name} --${flag.long}`];
        const shortOwner = spelled ? options.find((option) => option.long === spelled) : ours;
        if (flag.short && shortOwner?.short !== `-${flag.short}`) {
          problems.push(`${name} -${flag.short}: ours is ${shortOwner?.short ?? "absent"}`);
        }
        const takesValue = ours.required || ours.optional;
        if (takesValue !== flag.takesValue) {
          problems.push(`${name} --${flag.long}: takes a value in Go: ${flag.takesValue}`);
        }
      }
    }
    assertEquals(problems, []);
  },
});

Deno.test({
  name: "go compat: bare desync prints help on stdout and exits 0, as Go desync does",
  async fn() {
    if (!GO_MISSING) {
      const go = await runTool(GO_DESYNC, []);
      assertEquals([go.code, go.stderr], [0, ""]);
      assertMatch(go.stdout, /Usage:/);
    }
    // Go desync (v1.0.0+8): its help on stdout, nothing on stderr, exit 0.
    const ours = await runCli([], []);
    assertEquals([ours.code, ours.stderr], [0, ""]);
    assertMatch(ours.stdout, /^Usage: desync /);
  },
});

tempDirTest("go compat: config -w writes the file Go desync writes", async (dir) => {
  // What Go desync writes (with HOME=$dir/go): the defaults, two-space JSON, no final newline,
  // mode 0600 in directories it makes; "Writing config to PATH" is its message.
  const expected = '{\n  "s3-credentials": null,\n  "store-options": null\n}';
  if (!GO_MISSING) {
    await mustRun(GO_DESYNC, ["config", "-w"], { env: { HOME: `${dir}/go` } });
    assertEquals(await Deno.readTextFile(`${dir}/go/.config/desync/config.json`), expected);
  }
  const permissions = [...COMMAND_PERMISSIONS["config -w"]];
  const ours = await runCli(["config", "-w"], permissions, { env: { HOME: `${dir}/ours` } });
  assertEquals(ours.code, 0, ours.stderr);
  const path = `${dir}/ours/.config/desync/config.json`;
  assertMatch(ours.stderr, new RegExp(`^Writing config to ${path}\n$`));
  assertEquals(await Deno.readTextFile(path), expected);
  assertEquals(Deno.statSync(path).mode! & 0o777, 0o600);

  // An existing file named by --config is rewritten with the defaults filled in, as Go does.
  const given = '{"store-options": {"/srv/store": {"uncompressed": true}}}';
  for (const who of ["go", "ours"]) await Deno.writeTextFile(`${dir}/${who}.json`, given);
  const rewritten = await runCli(["--config", `${dir}/ours.json`, "config", "-w"], permissions);
  assertEquals(rewritten.code, 0, rewritten.stderr);
  if (!GO_MISSING) {
    await mustRun(GO_DESYNC, ["--config", `${dir}/go.json`, "config", "-w"]);
    assertEquals(
      await Deno.readTextFile(`${dir}/ours.json`),
      await Deno.readTextFile(`${dir}/go.json`),
    );
  }
  assertMatch(await Deno.readTextFile(`${dir}/ours.json`), /"error-retry": 3,/);
  // A --config file that does not exist is an error under both (Go: "stat FILE: no such file").
  const missing = await runCli(["--config", `${dir}/none.json`, "config", "-w"], permissions);
  assert(missing.code !== 0);
  assertMatch(missing.stderr, /^desync: .*none\.json/);
});

/** A small tree with a file of known time, a subdirectory and a symlink. */
async function smallTree(dir: string): Promise<string> {
  const tree = `${dir}/tree`;
  await Deno.mkdir(`${tree}/sub`, { recursive: true });
  await Deno.writeTextFile(`${tree}/a.txt`, "hello\n");
  await Deno.writeFile(`${tree}/sub/data`, new Uint8Array(70_000).map((_, i) => i * 7));
  await Deno.symlink("a.txt", `${tree}/link`);
  const modes = { "a.txt": 0o644, "sub/data": 0o644, "sub": 0o755, ".": 0o755 };
  for (const [path, mode] of Object.entries(modes)) {
    await Deno.chmod(`${tree}/${path}`, mode);
    await Deno.utime(`${tree}/${path}`, 1577880000, 1577880000);
  }
  return tree;
}

/**
 * Go desync's mtree text with casync's (and mtree(5)'s) `link=` for its `target=`, and its
 * nanoseconds padded with zeros where it pads them with spaces (`time=1577880000.        0`).
 */
const asCasync = (text: string) =>
  text.replace(/ target=/g, " link=").replace(
    / time=(\d+)\.( *\d+)/g,
    (_, seconds, nanos) => ` time=${seconds}.${nanos.trim().padStart(9, "0")}`,
  );

tempDirTest(
  "go compat: mtree DIR lists a directory as Go desync does (link= as casync)",
  async (dir) => {
    const tree = await smallTree(dir);
    // Go desync (v1.0.0+8) on this tree; its symlink line says target= where casync says link=.
    const expected = [
      "#mtree v1.0",
      ". type=dir mode=0755 uid=UID gid=GID time=1577880000.000000000",
      "a.txt type=file mode=0644 uid=UID gid=GID size=6 time=1577880000.000000000 " +
      "sha512256digest=7f3f0c0d5219f51459578305ed2bbc198588758da85d08024c79c1195d1cd611",
      "link type=link mode=0777 link=a.txt uid=UID gid=GID time=LINKTIME",
      "sub type=dir mode=0755 uid=UID gid=GID time=1577880000.000000000",
    ];
    const owner = Deno.lstatSync(tree);
    const linkTime = Deno.lstatSync(`${tree}/link`).mtime!.getTime();
    const fill = (line: string, time: string) =>
      line.replace(/UID/g, String(owner.uid)).replace(/GID/g, String(owner.gid))
        .replace("LINKTIME", time);
    for (const ffi of [false, true]) {
      const permissions = ffi
        ? [...COMMAND_PERMISSIONS.mtree, FFI_PERMISSION]
        : COMMAND_PERMISSIONS.mtree;
      const ours = await runCli(["mtree", tree], permissions);
      assertEquals(ours.code, 0, ours.stderr);
      const lines = ours.stdout.trimEnd().split("\n");
      // Without FFI, Deno reads times to the millisecond and the archive keeps seconds.
      const linkSeconds = `${Math.floor(linkTime / 1000)}.`;
      assert(lines[3].includes(`time=${linkSeconds}`), lines[3]);
      const linkField = /time=(\S+)/.exec(lines[3])![1];
      assertEquals(lines.slice(0, 5), expected.map((line) => fill(line, linkField)));
      assertMatch(lines[5], /^sub\/data type=file mode=0644 .* size=70000 time=1577880000\.0+ /);
    }
    if (!GO_MISSING) {
      const go = await mustRun(GO_DESYNC, ["mtree", tree]);
      const ours = await runCli(
        ["mtree", tree],
        [...COMMAND_PERMISSIONS.mtree, FFI_PERMISSION],
      );
      assertEquals(ours.stdout, asCasync(go.stdout));
    }
  },
);

tempDirTest(
  "go compat: mtree puts a symlink's link= right after mode, where casync and Go desync do",
  async (dir) => {
    const tree = await smallTree(dir);
    await mustRun("casync", ["make", `${dir}/t.catar`, tree]);
    const ours = await runCli(["mtree", `${dir}/t.catar`], COMMAND_PERMISSIONS.mtree);
    assertEquals(ours.code, 0, ours.stderr);
    const keywords = (text: string) =>
      text.split("\n").find((line) => line.startsWith("link "))!.split(" ").slice(1)
        .map((field) => field.split("=")[0]);
    const casync = (await mustRun("casync", ["mtree", `${dir}/t.catar`])).stdout;
    // casync: type mode link size uid gid uname gname flags time; ours leaves some out.
    const mine = keywords(ours.stdout);
    assertEquals(mine, keywords(casync).filter((keyword) => mine.includes(keyword)));
    assertEquals(mine.slice(0, 3), ["type", "mode", "link"]);
    if (!GO_MISSING) {
      const go = (await mustRun(GO_DESYNC, ["mtree", `${dir}/t.catar`])).stdout;
      const line = (text: string) => text.split("\n").find((l) => l.startsWith("link "));
      assertEquals(line(ours.stdout), line(asCasync(go)));
    }
  },
  CASYNC_MISSING,
);

tempDirTest(
  "go compat: tar --no-time records every time as 0, as Go desync's does",
  async (dir) => {
    const tree = await smallTree(dir);
    const tarred = await runCli(
      ["tar", "--no-time", `${dir}/ours.catar`, tree],
      COMMAND_PERMISSIONS.tar,
    );
    assertEquals(tarred.code, 0, tarred.stderr);
    // casync reads the archive: Go desync's --no-time archive lists time=0.000000000 for all.
    const listed = (await mustRun("casync", ["mtree", `${dir}/ours.catar`])).stdout;
    const times = listed.trim().split("\n").map((line) => /time=(\S+)/.exec(line)?.[1]);
    assertEquals(times, Array(5).fill("0.000000000"));
    if (!GO_MISSING) {
      await mustRun(GO_DESYNC, ["tar", "--no-time", `${dir}/go.catar`, tree]);
      const theirs = (await mustRun("casync", ["mtree", `${dir}/go.catar`])).stdout;
      assertEquals(
        theirs.trim().split("\n").map((line) => /time=(\S+)/.exec(line)?.[1]),
        times,
      );
    }
    // -r and --no-time=false as Go takes them: times kept.
    const kept = await runCli(
      ["tar", "-r", "--no-time=false", `${dir}/kept.catar`, tree],
      COMMAND_PERMISSIONS.tar,
    );
    assertEquals(kept.code, 0, kept.stderr);
    assertMatch(
      (await mustRun("casync", ["mtree", `${dir}/kept.catar`])).stdout,
      /time=1577880000/,
    );
  },
  CASYNC_MISSING,
);

/** Mounts a tmpfs on `path`; false where mounting is not permitted. */
async function mountTmpfs(path: string): Promise<boolean> {
  if (Deno.uid() !== 0 || missingTools("mount", "umount")) return false;
  return (await runTool("mount", ["-t", "tmpfs", "none", path])).code === 0;
}

tempDirTest(
  "go compat: tar -x leaves out a mounted file system, mount point and all, as Go desync does",
  async (dir) => {
    const tree = await smallTree(dir);
    // Last in the walk: this build of Go desync also drops every entry after a mount point
    // in its directory (a bug: its flag says "don't cross filesystem boundaries").
    await Deno.mkdir(`${tree}/zmnt`);
    if (!(await mountTmpfs(`${tree}/zmnt`))) {
      console.log("tar -x: cannot mount a tmpfs here; not tested");
      return;
    }
    try {
      await Deno.writeTextFile(`${tree}/zmnt/inside`, "x");
      const tarred = await runCli(
        ["tar", "-x", `${dir}/ours.catar`, tree],
        COMMAND_PERMISSIONS.tar,
      );
      assertEquals(tarred.code, 0, tarred.stderr);
      const paths = async (archive: string) =>
        (await mustRun("casync", ["mtree", archive])).stdout.trim().split("\n")
          .map((line) => line.split(" ")[0]);
      // Go desync's -x archive of this tree (v1.0.0+8): no zmnt, no zmnt/inside.
      assertEquals(await paths(`${dir}/ours.catar`), [".", "a.txt", "link", "sub", "sub/data"]);
      if (!GO_MISSING) {
        await mustRun(GO_DESYNC, ["tar", "-x", `${dir}/go.catar`, tree]);
        assertEquals(await paths(`${dir}/ours.catar`), await paths(`${dir}/go.catar`));
      }
    } finally {
      await runTool("umount", [`${tree}/zmnt`]);
    }
  },
  CASYNC_MISSING,
);

tempDirTest(
  "go compat: chunk-server --writeable (Go's spelling of -w) takes Go desync's make",
  async (dir) => {
    const blob = new Uint8Array(600_000).map((_, i) => (i * 2654435761) >>> 24);
    await Deno.writeFile(`${dir}/blob`, blob);
    await Deno.mkdir(`${dir}/received`);
    await Deno.mkdir(`${dir}/local`);
    const server = await startServerProcess(
      [
        "chunk-server",
        "--writeable",
        "-r",
        "--skip-verify-write",
        "-s",
        `${dir}/received`,
        "-l",
        "127.0.0.1:0",
      ],
      ["--allow-net=127.0.0.1", "--allow-read", "--allow-write"],
    );
    try {
      await mustRun(GO_DESYNC, ["make", "-s", server.url, `${dir}/remote.caibx`, `${dir}/blob`]);
    } finally {
      assertEquals((await server.stop("SIGTERM")).code, 0);
    }
    // The chunks Go desync's make stores in a local directory.
    await mustRun(GO_DESYNC, ["make", "-s", `${dir}/local`, `${dir}/local.caibx`, `${dir}/blob`]);
    assertEquals(storeIds(`${dir}/received`), storeIds(`${dir}/local`));
    assert(storeIds(`${dir}/local`).length > 1);
  },
  GO_MISSING,
);

tempDirTest("go compat: servers listen on :http by default, as Go desync's", async (dir) => {
  // Go desync's chunk-server and index-server: "-l, --listen strings ... (default [:http])".
  // Allowed only 127.0.0.1, ours names the address it was about to listen on.
  const net = ["--allow-net=127.0.0.1", "--allow-read"];
  const chunk = await runCli(["chunk-server", "-s", dir], net);
  assertEquals(chunk.code, 1);
  assertMatch(
    chunk.stderr,
    /^desync: cannot listen on 0\.0\.0\.0:80: .*--allow-net=0\.0\.0\.0:80\n$/,
  );
  const index = await runCli(["index-server", "-s", dir, "-n", "4", "-l", "localhost:https"], [
    "--allow-read",
  ]);
  assertEquals(index.code, 1);
  assertMatch(index.stderr, /^desync: cannot listen on localhost:443: /);
  // Go desync's --skip-verify-read=false is taken (chunk_server_cache_test.ts shows what it does):
  // the server goes on to listen.
  const verify = await runCli(["chunk-server", "-s", dir, "--skip-verify-read=false"], net);
  assertEquals(verify.code, 1);
  assertMatch(verify.stderr, /^desync: cannot listen on 0\.0\.0\.0:80: /);
});
