/**
 * A parser under test with its output captured: what a run printed on stdout
 * and stderr, and how it stopped (the CommanderError's code and exit code).
 * The tests use only commander 14's API, so they run unchanged against the
 * real commander (their expected values are its behaviour): run them with an
 * import map sending src/cli/args/mod.ts to npm:commander@14.0.3, and --no-check.
 */
import { Command, CommanderError } from "../../src/cli/args/mod.ts";

export interface Outcome {
  out: string;
  err: string;
  /** undefined when the action ran to its end. */
  code?: string;
  exitCode?: number;
}

/** A root command writing into `outcome`, throwing instead of exiting, help 80 columns wide. */
export function program(name = "prog"): { root: Command; outcome: Outcome } {
  const outcome: Outcome = { out: "", err: "" };
  const root = new Command(name)
    .exitOverride()
    .configureHelp({ helpWidth: 80 })
    .configureOutput({
      writeOut: (text: string) => void (outcome.out += text),
      writeErr: (text: string) => void (outcome.err += text),
    });
  return { root, outcome };
}

/** Parses `args` as the user's words; records how the parse stopped. */
export async function parse(root: Command, outcome: Outcome, ...args: string[]) {
  try {
    await root.parseAsync(args, { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    outcome.code = error.code;
    outcome.exitCode = error.exitCode;
  }
  return outcome;
}
