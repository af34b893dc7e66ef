/**
 * The SSH rows of the fault matrix: fake remotes (tests/fixtures/fake_casync_remote.ts)
 * in place of ssh+casync that never greet, stall, or whose output is cut short;
 * extract, cat and cache must fail within --timeout with one line naming the
 * store, and leave no process behind.
 */
import { assertEquals } from "../assert.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { CACHE, CAT, EXTRACT, type Subject } from "./http_matrix.ts";
import {
  assertFailure,
  fakeSsh,
  FLAGS,
  leftoverProcesses,
  makeFixture,
  runCli,
} from "./harness.ts";

interface Case {
  name: string;
  mode: string;
  pipe?: string;
  expect?: RegExp;
}

const CASES: Case[] = [
  { name: "a remote that serves succeeds", mode: "serve" },
  {
    name: "a remote that never says HELLO fails after --timeout",
    mode: "silent",
    expect: /: the handshake \(ssh, then HELLO\): no answer within 2 s \(--timeout\)/,
  },
  {
    name: "a remote that stalls after HELLO fails after --timeout",
    mode: "stall",
    expect: /: the request for chunk [0-9a-f]{64}: no answer within 2 s \(--timeout\)/,
  },
  {
    name: "a remote whose output is cut (| head -c 300000) fails, naming the store",
    mode: "serve",
    pipe: "| head -c 300000",
    // head buffers what it passes on (stdio to a pipe), so even HELLO may never arrive.
    expect:
      /: (the handshake \(ssh, then HELLO\)|the request for chunk [0-9a-f]{64}): no answer within 2 s/,
  },
];

for (const subject of [EXTRACT, CAT, CACHE] as Subject[]) {
  for (const c of CASES) {
    Deno.test(`faults: ${subject.name} over SSH: ${c.name}`, async (t) => {
      const dir = await tempDir(t);
      try {
        const fixture = await makeFixture(dir);
        await Deno.mkdir(`${dir}/out`);
        const ssh = await fakeSsh(dir, c.mode, { pipe: c.pipe });
        const store = `ssh://example.invalid${fixture.store}`;
        // Two sessions, and time enough for each stand-in (a Deno process) to start.
        const [command, ...rest] = subject.args(fixture, store).map((a) =>
          a === "500ms" ? "2s" : a
        );
        const args = [command, "-n", "2", ...rest];
        const run = await runCli(args, FLAGS.ssh, { env: { CASYNC_SSH_PATH: ssh } });
        if (c.expect) {
          assertFailure(run, new RegExp(`store ${store}${c.expect.source}`));
          subject.failedCleanly(fixture, fixture.ids[0]);
        } else {
          assertEquals(run.code, 0, run.stderr);
          await subject.succeeded(fixture);
        }
        assertEquals(await leftoverProcesses(dir), [], "no ssh stand-in outlives the command");
      } finally {
        await removeDir(dir);
      }
    });
  }
}
