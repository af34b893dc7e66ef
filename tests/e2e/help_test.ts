/**
 * `--help` of every registered command: a usage line, every option, defaults in
 * the unit a user types, the remote-store options where the command uses the
 * network (and only there), store location forms, and examples.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { buildProgram } from "../../src/cli/program.ts";
import { docOf, REMOTE_OPTIONS } from "../../src/cli/help.ts";
import { runCli } from "../helpers.ts";

const program = await buildProgram();
const commands = program.commands;

/** Runs `desync ARGS --help` for many commands, a few at a time (each is a process). */
async function helps(names: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < names.length; i += 4) {
    await Promise.all(
      names.slice(i, i + 4).map(async (name) => {
        const result = await runCli([...(name ? [name] : []), "--help"], ["--allow-read"]);
        assertEquals(result.code, 0, `${name} --help: ${result.stderr}`);
        out.set(name, result.stdout);
      }),
    );
  }
  return out;
}

Deno.test("help: every command has a usage line, its options, examples and the right globals", async () => {
  const texts = await helps(commands.map((command) => command.name()));
  for (const command of commands) {
    const name = command.name();
    const text = texts.get(name)!;
    assertMatch(text, new RegExp(`^Usage: desync ${name}(\\|\\S+)? `), name);
    for (const option of command.options.filter((o) => !o.hidden)) {
      assert(text.includes(option.flags), `${name} --help lacks ${option.flags}`);
    }
    const examples = text.split("\nExamples:\n")[1];
    assert(examples !== undefined, `${name} --help has no examples`);
    const lines = examples.trim().split("\n").filter((line) => /^ {2}\S/.test(line));
    const commandLines = lines.filter((line) => !line.trimStart().startsWith("#"));
    assert(commandLines.length >= 2, `${name}: ${commandLines.length} examples`);
    for (const line of commandLines) assertMatch(line, /\bdesync /, `${name} example: ${line}`);
    const doc = docOf(command);
    for (const remote of REMOTE_OPTIONS) {
      assertEquals(text.includes(`--${remote}`), !doc?.local, `${name} --help and --${remote}`);
    }
    assertEquals(text.includes("\nStore locations:\n"), doc?.stores === true, name);
    assertEquals(text.includes("--digest <name>"), doc?.digest === true, `${name} and --digest`);
    assert(text.includes("--verbose"), `${name} --help lacks --verbose`);
    assert(!text.includes("(default: [])"), `${name}: an empty list is no default to show`);
  }
});

Deno.test("help: defaults are shown in the unit a user types", async () => {
  const texts = await helps(["", "extract", "make", "info"]);
  for (const text of texts.values()) {
    assertMatch(text, /-b, --error-retry-base-interval <duration> .*\(default: 500ms\)/s);
    assertMatch(text, /--timeout <duration>.*\(default: 1m\)/s);
    assert(!/default: (500|60000)\)/.test(text), "milliseconds shown as a default");
  }
  assertMatch(texts.get("make")!, /-m, --chunk-size <min:avg:max>.*KiB.*\(default: 16:64:256\)/s);
  assertMatch(
    texts.get("info")!,
    /-f, --format <format>.*\(choices: "json", "plain", default: "json"\)/s,
  );
  assertMatch(texts.get("")!, /Commands:\n(.|\n)*inspect-chunks(.|\n)*completion(.|\n)*manpage/);
});

Deno.test("help: the servers show their defaults (listen address, client timeout)", async () => {
  const texts = await helps(["chunk-server", "index-server"]);
  for (const text of texts.values()) {
    assertMatch(text, /-l, --listen <address>.*\(default: :http\)/s);
    assertMatch(text, /--client-timeout <duration>.*\(default: 30s\)/s);
  }
});

Deno.test("help: desync help COMMAND shows the same help", async () => {
  const viaHelp = await runCli(["help", "chop"], ["--allow-read"]);
  const viaFlag = await runCli(["chop", "--help"], ["--allow-read"]);
  assertEquals(viaHelp.code, 0, viaHelp.stderr);
  assertEquals(viaHelp.stdout, viaFlag.stdout);
});
