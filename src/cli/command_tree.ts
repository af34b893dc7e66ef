/**
 * The command tree as plain data, for the generators (shell completions, man
 * pages): commands, their arguments and options, and the root's options. Read
 * when a generator runs, so every registered command is covered.
 */
import type { Command, Option } from "./args/mod.ts";
import { docOf, globalOptionsFor, shownDefault } from "./help.ts";

export interface OptionSpec {
  short?: string;
  long?: string;
  /** `<value>` or `[value]`: the name of the value it takes, if any. */
  value?: string;
  description: string;
  /** The default as the user would type it, when worth saying. */
  defaultText?: string;
  choices?: readonly string[];
}

export interface ArgumentSpec {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
  choices?: readonly string[];
}

export interface CommandSpec {
  name: string;
  aliases: string[];
  summary: string;
  usage: string;
  arguments: ArgumentSpec[];
  options: OptionSpec[];
  /** The root options that concern this command. */
  globalOptions: OptionSpec[];
  examples: readonly (readonly [string, string])[];
  stores: boolean;
}

export function optionSpec(option: Option): OptionSpec {
  const value = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1];
  const shown = option.defaultValue !== undefined && !option.negate && shownDefault(option);
  return {
    short: option.short,
    long: option.long,
    value,
    description: option.description,
    defaultText: shown
      ? option.defaultValueDescription ?? JSON.stringify(option.defaultValue)
      : undefined,
    choices: option.argChoices,
  };
}

export function visibleOptions(command: Command): OptionSpec[] {
  return command.options.filter((option) => !option.hidden).map(optionSpec);
}

/** Every visible subcommand of `program`, in the order they were registered. */
export function commandSpecs(program: Command): CommandSpec[] {
  return program.commands
    .filter((command) => !command.hidden)
    .map((command) => commandSpec(command, globalOptionsFor(command)));
}

/** The root's own options (shown on the main page and at the top level). */
export function rootOptions(program: Command): OptionSpec[] {
  return visibleOptions(program);
}

export function commandSpec(command: Command, globals: Option[]): CommandSpec {
  const doc = docOf(command);
  return {
    name: command.name(),
    aliases: command.aliases(),
    summary: command.description(),
    usage: command.usage(),
    arguments: command.registeredArguments.map((argument) => ({
      name: argument.name(),
      description: argument.description,
      required: argument.required,
      variadic: argument.variadic,
      choices: argument.argChoices,
    })),
    options: visibleOptions(command),
    globalOptions: globals.filter((option) => !option.hidden).map(optionSpec),
    examples: doc?.examples ?? [],
    stores: doc?.stores ?? false,
  };
}
