/**
 * The parser's rules for words: short groups, attached values, `--name=value`,
 * `--no-` forms, repeated options, `--`, options after operands, the root's
 * options after a subcommand. Expected values are commander 14's behaviour.
 */
import { assertEquals } from "../assert.ts";
import { Argument, type Command, Option } from "../../src/cli/args/mod.ts";
import { parse, program } from "./args_fixture.ts";

/** A root with a few options and a subcommand `run <a> [b]` recording what its action got. */
function tree() {
  const { root, outcome } = program();
  root
    .option("-v, --verbose", "talk")
    .option("-t, --trust", "trust", false)
    .option("-e, --retry <n>", "retries", (v: string) => Number(v), 3);
  const seen: { args: unknown[]; opts?: Record<string, unknown>; globals?: unknown } = { args: [] };
  const run = root.command("run")
    .argument("<a>", "first")
    .argument("[b]", "second")
    .option("-n, --count <n>", "count", (v: string) => Number(v), 10)
    .option("-i, --in-place", "in place")
    .option("-s, --store <s>", "store", (v: string, prev: string[]) => [...prev, v], [])
    .option("--no-seed", "no seed")
    .option("-r, --repair", "repair", true)
    .option("--no-repair", "do not repair")
    .action((a: string, b: string | undefined, opts: Record<string, unknown>, cmd: Command) => {
      seen.args = [a, b];
      seen.opts = { ...opts };
      seen.globals = cmd.optsWithGlobals();
    });
  return { root, outcome, run, seen };
}

Deno.test("args: short flags group (-ik), a value attached to a short flag (-n4) or after =", async () => {
  const { root, outcome, seen } = tree();
  await parse(root, outcome, "run", "-in4", "x");
  assertEquals(seen.opts, { count: 4, store: [], seed: true, repair: true, inPlace: true });
  assertEquals(outcome.code, undefined);
  const again = tree();
  await parse(again.root, again.outcome, "run", "--count=7", "--store=a=b", "x");
  assertEquals(again.seen.opts, { count: 7, store: ["a=b"], seed: true, repair: true });
});

Deno.test("args: --no- forms and their defaults, alone and beside the plain flag", async () => {
  const { root, outcome, seen } = tree();
  await parse(root, outcome, "run", "x", "--no-seed", "--no-repair");
  assertEquals(seen.opts, { count: 10, store: [], seed: false, repair: false });
  const plain = tree();
  await parse(plain.root, plain.outcome, "run", "x", "--no-repair", "-r");
  assertEquals(plain.seen.opts?.repair, true);
});

Deno.test("args: a repeated option goes through its parser with the value so far", async () => {
  const { root, outcome, seen, run } = tree();
  await parse(root, outcome, "run", "-s", "a", "x", "--store", "b", "-sc");
  assertEquals(seen.opts?.store, ["a", "b", "c"]);
  assertEquals(seen.args, ["x", undefined]);
  assertEquals(run.getOptionValueSource("store"), "cli");
  assertEquals(run.getOptionValueSource("count"), "default");
  assertEquals(run.getOptionValueSource("inPlace"), undefined);
});

Deno.test("args: -- ends the options; options may follow operands; negative numbers are operands", async () => {
  const { root, outcome, seen } = tree();
  await parse(root, outcome, "run", "x", "-n", "2", "--", "-i");
  assertEquals(seen.args, ["x", "-i"]);
  assertEquals(seen.opts?.count, 2);
  assertEquals(seen.opts?.inPlace, undefined);
  const negative = tree();
  await parse(negative.root, negative.outcome, "run", "-5", "-1.5");
  assertEquals(negative.seen.args, ["-5", "-1.5"]);
  const before = tree();
  await parse(before.root, before.outcome, "--", "run", "-i", "x");
  // After the root's --, every word is an operand, the subcommand's flags too.
  assertEquals([before.seen.args, before.seen.opts?.inPlace], [["-i", "x"], undefined]);
});

Deno.test("args: the root's options are taken before and after the subcommand's name", async () => {
  const { root, outcome, seen } = tree();
  await parse(root, outcome, "-v", "run", "x", "-te5", "y");
  assertEquals(seen.args, ["x", "y"]);
  assertEquals(seen.globals, {
    trust: true,
    retry: 5,
    verbose: true,
    count: 10,
    store: [],
    seed: true,
    repair: true,
  });
  assertEquals(root.getOptionValueSource("retry"), "cli");
  assertEquals(root.opts(), { trust: true, retry: 5, verbose: true });
});

Deno.test("args: an optional value is taken unless an option follows", async () => {
  for (
    const [words, expected] of [
      [["--level"], true],
      [["--level", "3"], "3"],
      [["--level", "-q"], true],
      [["-l3"], "3"],
      [["--level=4"], "4"],
    ] as const
  ) {
    const { root, outcome } = program();
    let got: unknown;
    root.option("-l, --level [n]", "level").option("-q, --quiet", "quiet")
      .action((opts: Record<string, unknown>) => void (got = opts.level));
    await parse(root, outcome, ...words);
    assertEquals(got, expected, words.join(" "));
  }
});

Deno.test("args: a variadic argument takes the rest, through its choices", async () => {
  const { root, outcome } = program();
  let got: unknown[] = [];
  root.command("pick")
    .addArgument(new Argument("<shell...>", "shells").choices(["bash", "zsh"]))
    .action((shells: string[]) => void (got = shells));
  root.command("many").argument("<rest...>").action((rest: string[]) => void (got = rest));
  await parse(root, outcome, "pick", "zsh", "bash", "zsh");
  assertEquals(got, ["zsh", "bash", "zsh"]);
  const again = program();
  again.root.command("many").argument("<rest...>").action((rest: string[]) => void (got = rest));
  await parse(again.root, again.outcome, "many", "a", "-", "b");
  assertEquals(got, ["a", "-", "b"]);
});

Deno.test("args: preAction hooks run root first, with the command whose action runs", async () => {
  const { root, outcome } = program();
  const calls: string[] = [];
  root.hook("preAction", (hooked, action) => void calls.push(`${hooked.name()}>${action.name()}`));
  root.command("go").action(() => void calls.push("action"));
  await parse(root, outcome, "go");
  assertEquals(calls, ["prog>go", "action"]);
});

Deno.test("args: Option fields as help and completions read them", () => {
  const option = new Option("-s, --store-dir <dir>", "where").default([], "none");
  assertEquals(
    [option.short, option.long, option.required, option.optional, option.negate],
    ["-s", "--store-dir", true, false, false],
  );
  assertEquals([option.attributeName(), option.name(), option.isBoolean()], [
    "storeDir",
    "store-dir",
    false,
  ]);
  const negated = new Option("--no-same-owner");
  assertEquals([negated.negate, negated.attributeName(), negated.isBoolean()], [
    true,
    "sameOwner",
    false,
  ]);
  const flag = new Option("--print-stats").hideHelp();
  assertEquals([flag.short, flag.long, flag.hidden, flag.isBoolean()], [
    undefined,
    "--print-stats",
    true,
    true,
  ]);
  assertEquals(new Option("-f, --format <f>").choices(["a", "b"]).argChoices, ["a", "b"]);
  const argument = new Argument("[files...]", "files");
  assertEquals([argument.name(), argument.required, argument.variadic], ["files", false, true]);
});
