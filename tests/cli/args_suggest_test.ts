/**
 * The "Did you mean" guesses on their own. Where commander 14 guesses wrongly
 * (an unknown command typed with dashes, `desync -- --verify`, got "--rify":
 * the command names less their first two letters), we compare names as typed.
 */
import { assertEquals } from "../assert.ts";
import { suggestSimilar } from "../../src/cli/args/suggest.ts";

const COMMANDS = ["extract", "verify", "prune", "help", "completion", "completions"];

Deno.test("suggest: an unknown command typed with dashes is compared with the names as they are", () => {
  assertEquals(suggestSimilar("--verify", COMMANDS, "command"), "\n(Did you mean verify?)");
  assertEquals(suggestSimilar("--help", COMMANDS, "command"), "\n(Did you mean help?)");
  assertEquals(suggestSimilar("--prune", COMMANDS, "command"), "\n(Did you mean prune?)");
  assertEquals(suggestSimilar("-x", COMMANDS, "command"), "");
});

Deno.test("suggest: options are compared without their dashes; ties are all named", () => {
  const options = ["--verbose", "--version", "--store", "--seed", "--help"];
  assertEquals(suggestSimilar("--stor", options, "option"), "\n(Did you mean --store?)");
  assertEquals(
    suggestSimilar("--vers", options, "option"),
    "\n(Did you mean one of --verbose, --version?)",
  );
  assertEquals(suggestSimilar("--x", options, "option"), "");
});

Deno.test("suggest: up to three edits away, and only a name sharing enough of its letters", () => {
  assertEquals(suggestSimilar("extractxyz", COMMANDS, "command"), "\n(Did you mean extract?)");
  assertEquals(suggestSimilar("extractwxyz", COMMANDS, "command"), "");
  // "hx" is three edits from "help", but shares one letter of four: too little to guess.
  assertEquals(suggestSimilar("hx", COMMANDS, "command"), "");
  // A word far longer than any name is no guess (and costs no distance table).
  assertEquals(suggestSimilar("e".repeat(100_000), COMMANDS, "command"), "");
});
