/**
 * The command line as a user meets it at its edges: mistyped names, odd
 * values, missing permissions, a reader that goes away. Every failure is one
 * line on stderr starting "desync:".
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { PERMISSIONS, type RunResult, runCli, tempDirTest } from "../helpers.ts";

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
