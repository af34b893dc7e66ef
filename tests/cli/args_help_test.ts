/**
 * The help text's layout: usage line, sections, aligned columns, wrapping of
 * long descriptions at the width, defaults and choices. Expected texts are
 * what commander 14 prints for the same commands.
 */
import { assertEquals } from "../assert.ts";
import { Argument, Help, Option } from "../../src/cli/args/mod.ts";
import { parse, program } from "./args_fixture.ts";

/** What parsing `args` printed on stdout. */
async function helpOf({ root, outcome }: ReturnType<typeof program>, ...args: string[]) {
  await parse(root, outcome, ...args);
  return outcome.out;
}

Deno.test("help: the root lists options, then commands with their arguments and help", async () => {
  const tool = program("tool");
  const { root } = tool;
  root.description("does things").version("0.1.0", "--version")
    .option("-e, --retry <n>", "retries", (v: string) => Number(v), 3)
    .option("--digest <name>", "digest", "sha256");
  root.command("extract").description("assemble a blob")
    .argument("<index>", "index").argument("[out]", "output").option("-k", "in place");
  root.command("pull").description("serve").argument("<args...>");
  root.command("completion").alias("completions").description("scripts").argument("<shell>");
  assertEquals(
    await helpOf(tool, "--help"),
    [
      "Usage: tool [options] [command]",
      "",
      "does things",
      "",
      "Options:",
      "  --version                        output the version number",
      "  -e, --retry <n>                  retries (default: 3)",
      '  --digest <name>                  digest (default: "sha256")',
      "  -h, --help                       display help for command",
      "",
      "Commands:",
      "  extract [options] <index> [out]  assemble a blob",
      "  pull <args...>                   serve",
      "  completion|completions <shell>   scripts",
      "  help [command]                   display help for command",
      "",
    ].join("\n"),
  );
});

Deno.test("help: a command's arguments, options and (when asked) the root's as global options", async () => {
  const tool = program("tool");
  const { root } = tool;
  root.configureHelp({ helpWidth: 80, showGlobalOptions: true })
    .option("--verbose", "talk", false)
    .addOption(new Option("--secret").hideHelp());
  root.command("info").description("describe an index")
    .addArgument(new Argument("<index>", "the index"))
    .addArgument(new Argument("[shell]", "a shell").choices(["bash", "zsh"]))
    .addOption(new Option("-f, --format <format>", "output format").choices(["json", "plain"]))
    .option("--no-seed", "no seed")
    .option("-n <n>", "count", "4")
    .addHelpText("after", () => "\nExamples:\n  tool info x");
  assertEquals(
    await helpOf(tool, "info", "-h"),
    [
      "Usage: tool info [options] <index> [shell]",
      "",
      "describe an index",
      "",
      "Arguments:",
      "  index                  the index",
      '  shell                  a shell (choices: "bash", "zsh")',
      "",
      "Options:",
      '  -f, --format <format>  output format (choices: "json", "plain")',
      "  --no-seed              no seed",
      '  -n <n>                 count (default: "4")',
      "  -h, --help             display help for command",
      "",
      "Global Options:",
      "  --verbose              talk (default: false)",
      "",
      "Examples:",
      "  tool info x",
      "",
    ].join("\n"),
  );
});

Deno.test("help: long descriptions wrap in their column, unless it is narrower than 40", async () => {
  const long = "a description long enough that it has to be wrapped over more than one line " +
    "of the eighty columns help is laid out for";
  const tool = program("tool");
  const { root } = tool;
  root.option("-s, --store <location>", long);
  assertEquals(
    await helpOf(tool, "--help"),
    [
      "Usage: tool [options]",
      "",
      "Options:",
      "  -s, --store <location>  a description long enough that it has to be wrapped",
      "                          over more than one line of the eighty columns help is",
      "                          laid out for",
      "  -h, --help              display help for command",
      "",
    ].join("\n"),
  );
  const wide = program("tool");
  wide.root.option("--a-very-long-option-name-that-takes <a-long-value-name>", long);
  const text = await helpOf(wide, "--help");
  assertEquals(
    text.split("\n")[3],
    `  --a-very-long-option-name-that-takes <a-long-value-name>  ${long}`,
  );
});

Deno.test("help: Help's parts, as src/cli/help.ts reuses them", () => {
  const help = new Help();
  assertEquals(
    help.optionDescription(new Option("--flag", "a flag").default(false)),
    "a flag (default: false)",
  );
  assertEquals(help.optionDescription(new Option("--flag", "a flag").default("x")), "a flag");
  assertEquals(
    help.optionDescription(new Option("-b <d>", "base").default(500, "500ms")),
    "base (default: 500ms)",
  );
  assertEquals(help.optionDescription(new Option("-l <x>").default([])), "(default: [])");
  help.helpWidth = 60;
  assertEquals(help.boxWrap("one two  three\n\nfour", 40), "one two  three\n\nfour");
  assertEquals(
    help.boxWrap("aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk", 40),
    "aaaa bbbb cccc dddd eeee ffff gggg hhhh\niiii jjjj kkkk",
  );
});
