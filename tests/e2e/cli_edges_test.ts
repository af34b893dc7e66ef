/**
 * The command line as a user meets it at its edges: mistyped names, odd
 * values, missing permissions, a reader that goes away. Every failure is one
 * line on stderr starting "desync:".
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import {
  MAIN,
  PERMISSIONS,
  pseudoRandom,
  runCli,
  type RunResult,
  runTool,
  tempDirTest,
} from "../helpers.ts";
import { startFaultServer } from "../faults/fault_server.ts";
import { RUNTIME_FLAGS } from "../../scripts/permissions.ts";

/** Fails unless the run failed with `code` and exactly one stderr line starting "desync:". */
function assertOneLine(result: RunResult, code: number, pattern: RegExp) {
  assertEquals(result.code, code, result.stderr);
  assertMatch(result.stderr, /^desync: [^\n]*\n$/, "one line on stderr");
  assertMatch(result.stderr, pattern);
}

Deno.test("cli: a mistyped option or command, and its suggestion, are one line", async () => {
  const option = await runCli(["list-chunks", "--verbos", "x.caibx"], PERMISSIONS.readOnly);
  assertOneLine(option, 2, /unknown option '--verbos' \(did you mean --verbose\?\)/);
  const command = await runCli(["extrakt"], PERMISSIONS.readOnly);
  assertOneLine(command, 2, /unknown command 'extrakt' \(did you mean extract\?\)/);
});

Deno.test("cli: help of a command that does not exist is one line, exit 2", async () => {
  const unknown = await runCli(["help", "nosuch"], PERMISSIONS.readOnly);
  assertOneLine(unknown, 2, /unknown command 'nosuch'/);
  const mistyped = await runCli(["help", "extrakt"], PERMISSIONS.readOnly);
  assertOneLine(mistyped, 2, /unknown command 'extrakt' \(did you mean extract\?\)/);
  const help = await runCli(["help", "help"], PERMISSIONS.readOnly);
  assertEquals(help.code, 0, help.stderr);
  assertMatch(help.stdout, /^Usage: desync /);
});

Deno.test("cli: a command name that looks like an option is guessed among the commands' names", async () => {
  // After --, "--verify" is a command name: the guess is a command, not the name less two letters.
  const verify = await runCli(["--", "--verify"], PERMISSIONS.readOnly);
  assertOneLine(verify, 2, /unknown command '--verify' \(did you mean verify\?\)\n$/);
  const help = await runCli(["--", "--help"], PERMISSIONS.readOnly);
  assertOneLine(help, 2, /unknown command '--help' \(did you mean help\?\)\n$/);
});

tempDirTest(
  "cli: a newline or an escape in a name or a config file stays in one line",
  async (dir) => {
    const named = await runCli(["list-chunks", `${dir}/a\nb\x1b[2J.caibx`], PERMISSIONS.readOnly);
    assertOneLine(named, 1, /a\\x0Ab\\x1B\[2J\.caibx: cannot read index/);
    await Deno.writeTextFile(`${dir}/config.json`, "hello\nworld\n");
    const config = await runCli(
      ["--config", `${dir}/config.json`, "list-chunks", "x.caibx"],
      PERMISSIONS.readOnly,
    );
    assertOneLine(config, 2, /config\.json: not valid JSON: .*hello\\x0Aworld/);
    const option = await runCli(["list-chunks", "--a\nb", "x.caibx"], PERMISSIONS.readOnly);
    assertOneLine(option, 2, /unknown option '--a\\x0Ab'/);
  },
);

tempDirTest(
  "cli: a timeout longer than a timer can wait (1000h, in flags or config) still waits",
  async (dir) => {
    await Deno.writeFile(`${dir}/blob`, pseudoRandom(256 << 10, 7));
    const made = await runCli(["make", "-s", `${dir}/store`, `${dir}/blob.caibx`, `${dir}/blob`]);
    assertEquals(made.code, 0, made.stderr);
    // Each answer comes after a pause a timer cut to 1 ms would not wait for.
    const server = startFaultServer(`${dir}/store`, () => ({ kind: "slow", ms: 30 }));
    try {
      const net = [...PERMISSIONS.local, "--allow-net=127.0.0.1"];
      const flags = await runCli(
        [
          "extract",
          "--timeout",
          "1000h",
          "-b",
          "1000h",
          "-s",
          server.url,
          `${dir}/blob.caibx`,
          `${dir}/a`,
        ],
        net,
      );
      assertEquals(flags.code, 0, flags.stderr);
      assertEquals(flags.stderr, "");
      await Deno.writeTextFile(
        `${dir}/config.json`,
        JSON.stringify({ "store-options": { [server.url]: { timeout: 3_600_000_000_000_000 } } }),
      );
      const config = await runCli(
        [
          "--config",
          `${dir}/config.json`,
          "extract",
          "-s",
          server.url,
          `${dir}/blob.caibx`,
          `${dir}/b`,
        ],
        net,
      );
      assertEquals(config.code, 0, config.stderr);
      assertEquals(config.stderr, "");
      assert(server.requests.length > 0, "the store was asked");
    } finally {
      await server.close();
    }
  },
);

tempDirTest(
  "cli: a server without --allow-net says so in one line, no stack trace",
  async (dir) => {
    const chunks = await runCli(
      ["chunk-server", "-s", dir, "-l", "127.0.0.1:0"],
      PERMISSIONS.readOnly,
    );
    assertOneLine(chunks, 1, /cannot listen on 127\.0\.0\.1:0: not permitted: needs --allow-net/);
    const indexes = await runCli(["index-server", "-s", dir, "-l", "[::1]:8080"], [
      "--allow-read",
      "--allow-net=127.0.0.1",
    ]);
    assertOneLine(indexes, 1, /cannot listen on \[::1\]:8080: .*needs --allow-net=\[::1\]:8080/);
    // A name is looked up, then its address listened on: both need the permission.
    const named = await runCli(["chunk-server", "-s", dir, "-l", "localhost:0"], [
      "--allow-read",
      "--allow-net=localhost",
    ]);
    assertOneLine(
      named,
      1,
      /cannot listen on localhost:0: not permitted: needs --allow-net=.*127\.0\.0\.1/,
    );
  },
);

/** Runs the CLI with its stdout closed before it writes anything: every write fails (EPIPE). */
async function runReaderGone(args: string[], permissions: readonly string[]): Promise<RunResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...permissions, ...RUNTIME_FLAGS, MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await child.stdout.cancel();
  const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  return { code: (await child.status).code, stdout: "", stderr };
}

tempDirTest(
  "cli: every command that prints stops quietly when its reader goes away",
  async (dir) => {
    await Deno.writeFile(`${dir}/blob`, pseudoRandom(512 << 10, 9));
    const made = await runCli(
      ["make", "-m", "1:2:8", "-s", `${dir}/store`, `${dir}/blob.caibx`, `${dir}/blob`],
    );
    assertEquals(made.code, 0, made.stderr);
    await Deno.writeFile(`${dir}/other`, pseudoRandom(64 << 10, 10));
    const other = await runCli([
      "make",
      "-s",
      `${dir}/store`,
      `${dir}/other.caibx`,
      `${dir}/other`,
    ]);
    assertEquals(other.code, 0, other.stderr);
    const index = `${dir}/blob.caibx`;
    const cases: [string[], readonly string[]][] = [
      [["list-chunks", index], PERMISSIONS.readOnly],
      [["chunk", "-m", "1:2:8", `${dir}/blob`], PERMISSIONS.readOnly],
      [["inspect-chunks", "-s", `${dir}/store`, index], PERMISSIONS.readOnly],
      [["prune", "--dry-run", "-s", `${dir}/store`, `${dir}/other.caibx`], PERMISSIONS.local],
      [["make", "-m", "1:2:8", "-", `${dir}/blob`], PERMISSIONS.readOnly],
      [["cat", "-s", `${dir}/store`, index], PERMISSIONS.readOnly],
      [["info", "-s", `${dir}/store`, index], PERMISSIONS.readOnly],
      [["config"], PERMISSIONS.readOnly],
    ];
    for (const [args, permissions] of cases) {
      const result = await runReaderGone(args, permissions);
      assertEquals([result.code, result.stderr], [0, ""], args.join(" "));
    }
  },
);

tempDirTest(
  "cli: prune's question left unanswered (end of input) is followed by one desync: line",
  async (dir) => {
    await Deno.writeFile(`${dir}/a`, pseudoRandom(64 << 10, 11));
    await Deno.writeFile(`${dir}/b`, pseudoRandom(64 << 10, 12));
    for (const name of ["a", "b"]) {
      const made = await runCli([
        "make",
        "-s",
        `${dir}/store`,
        `${dir}/${name}.caibx`,
        `${dir}/${name}`,
      ]);
      assertEquals(made.code, 0, made.stderr);
    }
    const result = await runCli(
      ["prune", "-s", `${dir}/store`, `${dir}/a.caibx`],
      PERMISSIONS.local,
      {
        stdin: new Uint8Array(0),
      },
    );
    assertEquals(result.code, 1, result.stderr);
    const [question, answer, ...rest] = result.stderr.split("\n");
    assertMatch(question, /^Remove \d+ unreferenced chunks from store .*\? \[y\/N\] $/);
    assertMatch(answer, /^desync: prune of store .* cancelled; nothing was removed$/);
    assertEquals(rest, [""]);
  },
);

tempDirTest(
  "cli: CASYNC_SSH_PATH and CASYNC_REMOTE_PATH set but empty mean ssh and casync, as in Go",
  async (dir) => {
    await Deno.writeFile(`${dir}/blob`, pseudoRandom(64 << 10, 13));
    const made = await runCli(["make", `${dir}/blob.caibx`, `${dir}/blob`]);
    assertEquals(made.code, 0, made.stderr);
    // An `ssh` found on PATH that records how it was called and fails.
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(`${dir}/bin/ssh`, `#!/bin/sh\nprintf '%s\\n' "$@" > '${dir}/args'\n`);
    await Deno.chmod(`${dir}/bin/ssh`, 0o755);
    const result = await runCli(
      ["extract", "-s", "ssh://host/srv/store", `${dir}/blob.caibx`, `${dir}/out`],
      [...PERMISSIONS.local, "--allow-run", "--allow-env=CASYNC_SSH_PATH,CASYNC_REMOTE_PATH"],
      {
        env: {
          CASYNC_SSH_PATH: "",
          CASYNC_REMOTE_PATH: "",
          PATH: `${dir}/bin:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
        },
      },
    );
    assertOneLine(result, 1, /store ssh:\/\/host\/srv\/store: /);
    const args = (await Deno.readTextFile(`${dir}/args`)).split("\n");
    assertEquals(args[0], "host");
    assertMatch(args.slice(1).join(" "), /^casync pull - - - .*\/srv\/store/);
  },
);

tempDirTest(
  "cli: manpage with an empty directory name is a usage error, and writes nothing (not into /)",
  async (dir) => {
    // Writing is allowed only in `dir`: were the pages written to "/desync.1", Deno would refuse.
    const result = await runCli(["manpage", ""], ["--allow-read", `--allow-write=${dir}`], {
      cwd: dir,
    });
    assertOneLine(result, 2, /^desync: manpage: /);
    assertEquals([...Deno.readDirSync(dir)], []);
  },
);

Deno.test({
  name: "cli: help or a version that cannot be written names standard output, as other output does",
  ignore: !existsSync("/dev/full"),
  async fn() {
    const cli = [Deno.execPath(), "run", "--quiet", "--allow-read", ...RUNTIME_FLAGS, MAIN];
    const quoted = cli.map((word) => `'${word}'`).join(" ");
    for (const args of [["--help"], ["--version"], ["help", "extract"], ["extract", "-h"]]) {
      // `completion bash > /dev/full` says so in these words (src/util/fs.ts stdoutError).
      const result = await runTool("sh", ["-c", `${quoted} ${args.join(" ")} > /dev/full`]);
      assertOneLine(
        result,
        1,
        /^desync: standard output: cannot write: no space left on device\n$/,
      );
    }
  },
});

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
