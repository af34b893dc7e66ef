/**
 * How the parser stops: each mistake's message (with "Did you mean" guesses),
 * its code and exit code, and help and --version. Expected values are
 * commander 14's behaviour.
 */
import { assertEquals } from "../assert.ts";
import { Argument, Option } from "../../src/cli/args/mod.ts";
import { parse, program } from "./args_fixture.ts";

function tree() {
  const { root, outcome } = program("tool");
  root.version("1.2.3", "--version").option("--verbose", "talk");
  root.command("extract")
    .argument("<index>", "index")
    .argument("<output>", "output")
    .option("-s, --store <store>", "store")
    .option("--seed <seed>", "seed")
    .option("--in-place", "in place")
    .addOption(new Option("--hidden-one").hideHelp())
    .action(() => {});
  root.command("info")
    .alias("information")
    .argument("<index>", "index")
    .addOption(new Option("-f, --format <format>", "format").choices(["json", "plain"]))
    .action(() => {});
  root.command("chop")
    .requiredOption("-s, --store <location>", "store")
    .action(() => {});
  root.command("completion")
    .addArgument(new Argument("<shell>", "shell").choices(["bash", "zsh", "fish"]))
    .action(() => {});
  return { root, outcome };
}

async function run(...args: string[]) {
  const { root, outcome } = tree();
  return await parse(root, outcome, ...args);
}

function failed(err: string, code: string) {
  return { out: "", err: `${err}\n`, code, exitCode: 1 };
}

Deno.test("args: unknown options, with a guess when one is close", async () => {
  assertEquals(
    await run("extract", "--x", "a", "b"),
    failed("error: unknown option '--x'", "commander.unknownOption"),
  );
  assertEquals(
    await run("extract", "--stor", "x", "a", "b"),
    failed("error: unknown option '--stor'\n(Did you mean --store?)", "commander.unknownOption"),
  );
  // The root's options and --help are candidates too; hidden options are not.
  assertEquals(
    await run("extract", "--vers"),
    failed(
      "error: unknown option '--vers'\n(Did you mean one of --verbose, --version?)",
      "commander.unknownOption",
    ),
  );
  // Three edits away is still a guess; four is not.
  assertEquals(
    await run("extract", "--verbosexyz", "a", "b"),
    failed(
      "error: unknown option '--verbosexyz'\n(Did you mean --verbose?)",
      "commander.unknownOption",
    ),
  );
  assertEquals(
    await run("extract", "--verbosewxyz", "a", "b"),
    failed("error: unknown option '--verbosewxyz'", "commander.unknownOption"),
  );
  assertEquals(
    await run("extract", "--hidden-on", "a", "b"),
    failed("error: unknown option '--hidden-on'", "commander.unknownOption"),
  );
  // Short flags get no guess; --flag=value of a plain flag is unknown as a whole.
  assertEquals(
    await run("extract", "-Zs", "a", "b"),
    failed("error: unknown option '-Zs'", "commander.unknownOption"),
  );
  assertEquals(
    await run("extract", "--in-place=1", "a", "b"),
    failed(
      "error: unknown option '--in-place=1'\n(Did you mean --in-place?)",
      "commander.unknownOption",
    ),
  );
});

Deno.test("args: unknown commands, with a guess among names and aliases", async () => {
  assertEquals(
    await run("extrakt"),
    failed("error: unknown command 'extrakt'\n(Did you mean extract?)", "commander.unknownCommand"),
  );
  assertEquals(
    await run("informatio"),
    failed(
      "error: unknown command 'informatio'\n(Did you mean information?)",
      "commander.unknownCommand",
    ),
  );
  assertEquals(
    await run("zzz"),
    failed("error: unknown command 'zzz'", "commander.unknownCommand"),
  );
});

Deno.test("args: missing and excess arguments, missing option values", async () => {
  assertEquals(
    await run("extract", "a"),
    failed("error: missing required argument 'output'", "commander.missingArgument"),
  );
  assertEquals(
    await run("extract", "a", "b", "c"),
    failed(
      "error: too many arguments for 'extract'. Expected 2 arguments but got 3.",
      "commander.excessArguments",
    ),
  );
  assertEquals(
    await run("completion", "bash", "zsh"),
    failed(
      "error: too many arguments for 'completion'. Expected 1 argument but got 2.",
      "commander.excessArguments",
    ),
  );
  assertEquals(
    await run("extract", "a", "b", "-s"),
    failed(
      "error: option '-s, --store <store>' argument missing",
      "commander.optionMissingArgument",
    ),
  );
  assertEquals(
    await run("chop"),
    failed(
      "error: required option '-s, --store <location>' not specified",
      "commander.missingMandatoryOptionValue",
    ),
  );
});

Deno.test("args: values outside the choices", async () => {
  assertEquals(
    await run("info", "-f", "xml", "i"),
    failed(
      "error: option '-f, --format <format>' argument 'xml' is invalid. Allowed choices are json, plain.",
      "commander.invalidArgument",
    ),
  );
  assertEquals(
    await run("completion", "ksh"),
    failed(
      "error: command-argument value 'ksh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish.",
      "commander.invalidArgument",
    ),
  );
});

Deno.test("args: a parser's own error passes through as it is", async () => {
  const { root, outcome } = program();
  root.option("-n <n>", "n", () => {
    throw new RangeError("bad n");
  });
  let caught: unknown;
  try {
    await root.parseAsync(["-n", "1"], { from: "user" });
  } catch (error) {
    caught = error;
  }
  assertEquals([caught instanceof RangeError, (caught as Error).message, outcome.err], [
    true,
    "bad n",
    "",
  ]);
});

Deno.test("args: help and --version stop the parse with exit code 0", async () => {
  const help = await run("extract", "a", "b", "c", "--help");
  assertEquals([help.code, help.exitCode, help.err], ["commander.helpDisplayed", 0, ""]);
  assertEquals(help.out.split("\n")[0], "Usage: tool extract [options] <index> <output>");
  const viaCommand = await run("help", "extract");
  assertEquals([viaCommand.code, viaCommand.exitCode, viaCommand.out], [
    "commander.help",
    0,
    help.out,
  ]);
  const alias = await run("help", "information");
  assertEquals(alias.out.split("\n")[0], "Usage: tool info|information [options] <index>");
  // Found while parsing: --version wins over what follows, even a mistake.
  assertEquals(await run("extract", "--version", "--x"), {
    out: "1.2.3\n",
    err: "",
    code: "commander.version",
    exitCode: 0,
  });
  const root = await run("--help");
  assertEquals([root.code, root.out.split("\n")[0]], [
    "commander.helpDisplayed",
    "Usage: tool [options] [command]",
  ]);
});

Deno.test("args: no command given: the root's help on stderr, exit code 1", async () => {
  const none = await run("--verbose");
  assertEquals([none.code, none.exitCode, none.out], ["commander.help", 1, ""]);
  assertEquals(none.err.split("\n")[0], "Usage: tool [options] [command]");
  const unknownHelp = await run("help", "nosuch");
  assertEquals([unknownHelp.code, unknownHelp.exitCode, unknownHelp.err], [
    "commander.help",
    1,
    none.err,
  ]);
});
