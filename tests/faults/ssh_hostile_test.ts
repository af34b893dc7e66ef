/**
 * An SSH store whose remote breaks casync's protocol (tests/fixtures/hostile_casync_remote.ts):
 * odd HELLOs, impossible message sizes, unknown messages, wrong or repeated
 * answers, bad chunk data, a remote that dies or stalls mid-message, floods
 * messages that answer nothing, or says hostile things. Every case must end in
 * exit 1 with one printable, bounded `desync:` line naming the store (and the
 * chunk where there is one), no output, no process left, memory bounded.
 */
import { assert, assertEquals } from "../assert.ts";
import { removeDir, REPO, tempDir } from "../helpers.ts";
import {
  assertBlob,
  assertFailure,
  assertNoOutput,
  escapeRegExp,
  FLAGS,
  leftoverProcesses,
  makeFixture,
  runCli,
} from "./harness.ts";

const ID = "[0-9a-f]{64}";

interface Case {
  mode: string;
  /** What the line says after `store STORE: ` (or the whole line after `desync: `, with `whole`). */
  expect?: string;
  whole?: boolean;
}

const CASES: Case[] = [
  { mode: "serve" },
  { mode: "hello-unknown-feature", expect: "protocol error: HELLO with unknown features 0x4001" },
  { mode: "hello-write-only", expect: "the remote offers no readable chunk store" },
  { mode: "hello-long", expect: "protocol error: HELLO of 26 bytes" },
  {
    mode: "size-huge",
    expect: "protocol error: message size 18446744073709551615 out of range",
  },
  { mode: "size-small", expect: "protocol error: message size 8 out of range" },
  { mode: "size-2gib", expect: "protocol error: message size 2147483648 out of range" },
  { mode: "missing", expect: `chunk ${ID} missing from store STORE`, whole: true },
  { mode: "unknown-type", expect: "unexpected message type 0x1234" },
  { mode: "twice", expect: `answered chunk ${ID}, which was not asked for` },
  {
    mode: "other-data",
    expect: `chunk ${ID} in store STORE is invalid: content hashes to ${ID}`,
    whole: true,
  },
  {
    mode: "garbage-frame",
    expect: `chunk ${ID} in store STORE is invalid: cannot decompress: .*`,
    whole: true,
  },
  { mode: "exit-after-one", expect: "the remote ended the session" },
  // A write the remote does not read (EPIPE) says the same, not "Broken pipe".
  { mode: "stdin-closed", expect: "the remote ended the session" },
  { mode: "cut-mid-message", expect: "protocol error: stream ended inside a message" },
  {
    mode: "stall-mid-message",
    expect: `the request for chunk ${ID}: no answer within 2 s \\(--timeout\\).*`,
  },
  // Messages that answer no request are no sign of life: the request still times out.
  {
    mode: "eof-flood",
    expect: `the request for chunk ${ID}: no answer within 2 s \\(--timeout\\).*`,
  },
  // What the remote says is shown on one line, control characters escaped, bounded.
  {
    mode: "abort-multiline",
    expect: "the remote aborted: first line\\\\x0Asecond line\\\\x1B\\[31m red\\\\x0Dx+…",
  },
  {
    mode: "stderr-garbage",
    expect: "the remote ended the session \\(remote said: last words\\\\x07\\)",
  },
];

for (const c of CASES) {
  Deno.test(`faults: SSH store, hostile remote "${c.mode}"`, async (t) => {
    const dir = await tempDir(t);
    try {
      const fixture = await makeFixture(dir);
      await Deno.mkdir(`${dir}/out`);
      const ssh = `${dir}/fake-ssh`;
      await Deno.writeTextFile(
        ssh,
        `#!/bin/sh\nexport HOSTILE_REMOTE=${c.mode}\n${
          c.mode === "stdin-closed" ? "exec 0<&-\n" : ""
        }exec '${Deno.execPath()}' run --quiet ` +
          `--allow-env --allow-read '${REPO}tests/fixtures/hostile_casync_remote.ts' "$@"\n`,
      );
      await Deno.chmod(ssh, 0o755);
      const store = `ssh://example.invalid${fixture.store}`;
      const output = `${dir}/out/blob`;
      const run = await runCli(
        ["extract", "-n", "2", "--timeout", "2s", "-s", store, fixture.index, output],
        FLAGS.ssh,
        { env: { CASYNC_SSH_PATH: ssh } },
      );
      if (c.expect === undefined) {
        assertEquals(run.code, 0, run.stderr);
        await assertBlob(output, fixture);
      } else {
        const line = c.expect.replaceAll("STORE", escapeRegExp(store));
        assertFailure(
          run,
          new RegExp(
            c.whole ? `^desync: ${line}$` : `^desync: store ${escapeRegExp(store)}: ${line}$`,
          ),
        );
        assert(
          // deno-lint-ignore no-control-regex
          !/[\x00-\x09\x0b-\x1f\x7f-\x9f]/.test(run.stderr),
          `printable: ${JSON.stringify(run.stderr)}`,
        );
        assert(run.stderr.length < 1024, `bounded: ${run.stderr.length} characters`);
        assertNoOutput(output);
      }
      assert(run.peakMiB < 250, `peak memory ${run.peakMiB} MiB`);
      assertEquals(await leftoverProcesses(dir), [], "no remote outlives the command");
    } finally {
      await removeDir(dir);
    }
  });
}
