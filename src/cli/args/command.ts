/**
 * A command of the command line, with its options, arguments, subcommands and
 * action; the root one parses the user's words. Behaves as the subset of
 * commander 14 this program uses did: the same parsing rules, messages, exit
 * codes and help text.
 */
import { Argument, argumentTerm } from "./argument.ts";
import { CommanderError, type ParseCode } from "./errors.ts";
import { Help } from "./help.ts";
import { Option, type ValueParser } from "./option.ts";
import { suggestSimilar } from "./suggest.ts";
import { scanWords } from "./words.ts";
import { stdoutError } from "../../util/fs.ts";

// Option values are whatever their parsers return; commands read them by name.
// deno-lint-ignore no-explicit-any
export type OptionValues = Record<string, any>;
/** Where an option's value came from. */
export type ValueSource = "default" | "cli";
// deno-lint-ignore no-explicit-any
type ActionHandler = (...args: any[]) => void | Promise<void>;
type Hook = (hooked: Command, actionCommand: Command) => void | Promise<void>;

export interface OutputConfiguration {
  writeOut(text: string): void;
  writeErr(text: string): void;
  /** Writes a parse error (its text ends in a newline) with `write`. */
  outputError(text: string, write: (text: string) => void): void;
  /** The width help is laid out for, undefined for the default 80. */
  getOutHelpWidth(): number | undefined;
  getErrHelpWidth(): number | undefined;
}

/**
 * Writes help, a version or an error message. A reader that went away (`desync
 * --help | head -1`) is no failure: the rest is dropped, as commander's
 * stream writes did.
 */
function writeAllSync(file: typeof Deno.stdout, text: string) {
  const bytes = new TextEncoder().encode(text);
  try {
    for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

/** A terminal's width, undefined when the file is no terminal. */
function terminalColumns(file: typeof Deno.stdout): number | undefined {
  return file.isTerminal() ? Deno.consoleSize().columns : undefined;
}

const DEFAULT_OUTPUT: OutputConfiguration = {
  // A full disk says which output failed and how, as the commands' own output does.
  writeOut: (text) => {
    try {
      writeAllSync(Deno.stdout, text);
    } catch (error) {
      throw stdoutError(error);
    }
  },
  writeErr: (text) => writeAllSync(Deno.stderr, text),
  outputError: (text, write) => write(text),
  getOutHelpWidth: () => terminalColumns(Deno.stdout),
  getErrHelpWidth: () => terminalColumns(Deno.stderr),
};

export class Command {
  readonly commands: Command[] = [];
  readonly options: Option[] = [];
  readonly registeredArguments: Argument[] = [];
  parent: Command | null = null;
  /** The operands (and unknown options) of the last parse. */
  args: string[] = [];
  /** Left out of help, completions and man pages. */
  hidden = false;

  #name: string;
  #description = "";
  readonly #aliases: string[] = [];
  #values: OptionValues = {};
  readonly #sources: Record<string, ValueSource | undefined> = {};
  #action?: ActionHandler;
  readonly #preAction: Hook[] = [];
  #version?: { text: string; option: Option };
  #exitOverride = false;
  #output: OutputConfiguration = DEFAULT_OUTPUT;
  #helpConfiguration: Partial<Help> = {};
  readonly #helpAfter: (() => string)[] = [];
  /** `-h, --help`, or null on the implicit help command, which has none. */
  #helpOption: Option | null = new Option("-h, --help", "display help for command");
  #helpCommand?: Command;

  constructor(name = "") {
    this.#name = name;
  }

  // ---- building the tree ----

  /** Adds a subcommand (`name`, optionally followed by its arguments) and returns it. */
  command(nameAndArgs: string): Command {
    const [name, ...args] = nameAndArgs.trim().split(/ +/);
    const sub = new Command(name);
    for (const argument of args) sub.argument(argument);
    if (this.#findCommand(name)) {
      throw new Error(`cannot add command '${name}': a command has that name`);
    }
    sub.parent = this;
    // Settings made so far are inherited, as commander's copyInheritedSettings does.
    sub.#output = this.#output;
    sub.#helpConfiguration = this.#helpConfiguration;
    sub.#exitOverride = this.#exitOverride;
    this.commands.push(sub);
    return sub;
  }

  name(): string;
  name(name: string): this;
  name(name?: string): string | this {
    if (name === undefined) return this.#name;
    this.#name = name;
    return this;
  }

  description(): string;
  description(text: string): this;
  description(text?: string): string | this {
    if (text === undefined) return this.#description;
    this.#description = text;
    return this;
  }

  /** The usage after the command's name: `[options] [command] <args>`. */
  usage(): string {
    const words: string[] = [];
    if (this.options.length || this.#helpOption !== null) words.push("[options]");
    if (this.commands.length) words.push("[command]");
    return [...words, ...this.registeredArguments.map(argumentTerm)].join(" ");
  }

  alias(alias: string): this {
    if (alias === this.#name) throw new Error(`alias '${alias}' is the command's name`);
    if (this.parent && this.parent.#findCommand(alias)) {
      throw new Error(`cannot add alias '${alias}' to '${this.#name}': a command has that name`);
    }
    this.#aliases.push(alias);
    return this;
  }

  aliases(): string[] {
    return this.#aliases;
  }

  argument(name: string, description?: string): this {
    return this.addArgument(new Argument(name, description));
  }

  addArgument(argument: Argument): this {
    if (this.registeredArguments.at(-1)?.variadic) {
      throw new Error(`only the last argument can be variadic ('${argument.name()}' follows one)`);
    }
    this.registeredArguments.push(argument);
    return this;
  }

  /**
   * Adds an option from its flags and description; the third argument is a
   * value parser (then the fourth is the default) or the default.
   */
  option(flags: string, description?: string, parseOrDefault?: unknown, value?: unknown) {
    return this.addOption(Command.#makeOption(flags, description, parseOrDefault, value));
  }

  /** An option that must have a value after parsing (given, or a default). */
  requiredOption(
    flags: string,
    description?: string,
    parseOrDefault?: unknown,
    value?: unknown,
  ) {
    const option = Command.#makeOption(flags, description, parseOrDefault, value);
    option.mandatory = true;
    return this.addOption(option);
  }

  static #makeOption(
    flags: string,
    description?: string,
    parseOrDefault?: unknown,
    value?: unknown,
  ) {
    const option = new Option(flags, description);
    if (typeof parseOrDefault === "function") {
      option.default(value).argParser(parseOrDefault as ValueParser);
    } else option.default(parseOrDefault);
    return option;
  }

  addOption(option: Option): this {
    this.#registerOption(option);
    const key = option.attributeName();
    if (option.negate) {
      // `--no-x` alone means x is on unless given; with a plain `--x` too, that one's default counts.
      const positive = option.long!.replace(/^--no-/, "--");
      if (!this.#findOption(positive)) {
        this.#setValue(key, option.defaultValue ?? true, "default");
      }
    } else if (option.defaultValue !== undefined) {
      this.#setValue(key, option.defaultValue, "default");
    }
    return this;
  }

  #registerOption(option: Option) {
    const clash = [option.short, option.long].find((flag) => flag && this.#findOption(flag));
    if (clash) {
      throw new Error(`cannot add option '${option.flags}' to '${this.#name}': ${clash} is taken`);
    }
    this.options.push(option);
  }

  /** Adds `flags` (default `-V, --version`): prints `text` and exits 0. */
  version(text: string, flags = "-V, --version", description = "output the version number") {
    const option = new Option(flags, description);
    this.#registerOption(option);
    this.#version = { text, option };
    return this;
  }

  action(handler: ActionHandler): this {
    this.#action = handler;
    return this;
  }

  /** Runs `hook` before the action of this command or any below it. */
  hook(_event: "preAction", hook: Hook): this {
    this.#preAction.push(hook);
    return this;
  }

  /** Throw a CommanderError instead of exiting the process (subcommands created later inherit it). */
  exitOverride(): this {
    this.#exitOverride = true;
    return this;
  }

  configureOutput(configuration: Partial<OutputConfiguration>): this {
    this.#output = { ...this.#output, ...configuration };
    return this;
  }

  /** Replaces Help's fields and methods for this command (and subcommands created later). */
  configureHelp(configuration: Partial<Help>): this {
    this.#helpConfiguration = configuration;
    return this;
  }

  /** Text printed after this command's help (nothing when it returns ""). */
  addHelpText(_position: "after", text: string | (() => string)): this {
    this.#helpAfter.push(typeof text === "string" ? () => text : text);
    return this;
  }

  /** The `-h, --help` option (not among `options`), or null where there is none. */
  helpOption(): Option | null {
    return this.#helpOption;
  }

  /** The implicit `help [command]` of a command with subcommands and no action of its own. */
  helpCommand(): Command | null {
    if (!this.commands.length || this.#action || this.#findCommand("help")) return null;
    if (this.#helpCommand === undefined) {
      const help = new Command("help").description("display help for command");
      help.#helpOption = null;
      help.argument("[command]");
      this.#helpCommand = help;
    }
    return this.#helpCommand;
  }

  // ---- values ----

  opts<T extends OptionValues = OptionValues>(): T {
    return this.#values as T;
  }

  /** This command's options with its ancestors' (an ancestor's value wins on a shared name). */
  optsWithGlobals<T extends OptionValues = OptionValues>(): T {
    const merged: OptionValues = {};
    for (const command of this.#ancestry()) Object.assign(merged, command.#values);
    return merged as T;
  }

  getOptionValueSource(key: string): ValueSource | undefined {
    return this.#sources[key];
  }

  /** The source of `key` here or in an ancestor (the furthest one that has it wins). */
  getOptionValueSourceWithGlobals(key: string): ValueSource | undefined {
    let source: ValueSource | undefined;
    for (const command of this.#ancestry()) source = command.#sources[key] ?? source;
    return source;
  }

  #setValue(key: string, value: unknown, source: ValueSource) {
    this.#values[key] = value;
    this.#sources[key] = source;
  }

  // ---- help ----

  createHelp(): Help {
    return Object.assign(new Help(), this.#helpConfiguration);
  }

  /** The help text, laid out for stdout (or stderr, with `error`). */
  helpInformation(context: { error?: boolean } = {}): string {
    const help = this.createHelp();
    help.prepareContext({
      helpWidth: context.error ? this.#output.getErrHelpWidth() : this.#output.getOutHelpWidth(),
    });
    return help.formatHelp(this);
  }

  outputHelp(context: { error?: boolean } = {}) {
    const write = context.error ? this.#output.writeErr : this.#output.writeOut;
    write(this.helpInformation(context));
    for (const text of this.#helpAfter) {
      const extra = text();
      if (extra) write(`${extra}\n`);
    }
  }

  /** Prints the help and stops: exit 0, or 1 when printed for a mistake (on stderr). */
  help(context: { error?: boolean } = {}): never {
    this.outputHelp(context);
    return this.#exit(context.error ? 1 : 0, "commander.help", "(outputHelp)");
  }

  // ---- errors ----

  /** Reports a usage error (message starts "error: ") and stops with exit code 1 by default. */
  error(message: string, options: { exitCode?: number; code?: ParseCode } = {}): never {
    this.#output.outputError(`${message}\n`, this.#output.writeErr);
    return this.#exit(options.exitCode || 1, options.code ?? "commander.error", message);
  }

  #exit(exitCode: number, code: ParseCode, message: string): never {
    if (this.#exitOverride) throw new CommanderError(exitCode, code, message);
    Deno.exit(exitCode);
  }

  // ---- parsing ----

  /** Parses `args` (the user's words, without the program's name) and runs the command's action. */
  async parseAsync(args: readonly string[], _options?: { from: "user" }): Promise<this> {
    await this.#parseCommand([], [...args]);
    return this;
  }

  #findCommand(name: string | undefined): Command | undefined {
    if (!name) return undefined;
    return this.commands.find((c) => c.#name === name || c.#aliases.includes(name));
  }

  #findOption(flag: string): Option | undefined {
    return this.options.find((option) => option.is(flag));
  }

  #ancestry(): Command[] {
    const chain: Command[] = [this];
    while (chain.at(-1)!.parent) chain.push(chain.at(-1)!.parent!);
    return chain;
  }

  async #parseCommand(operandsBefore: string[], words: string[]): Promise<void> {
    const parsed = scanWords(words, {
      findOption: (flag) => this.#findOption(flag),
      isNegativeNumber: (word) => this.#isNegativeNumber(word),
      hasSubcommands: this.commands.length > 0,
      onOption: (option, value) => this.#optionValue(option, value),
      onMissingValue: (option) => this.#optionMissingArgument(option),
    });
    const operands = [...operandsBefore, ...parsed.operands];
    const unknown = parsed.unknown;
    this.args = [...operands, ...unknown];
    const sub = this.#findCommand(operands[0]);
    if (sub) return await sub.#parseCommand(operands.slice(1), unknown);
    const helpCommand = this.helpCommand();
    if (helpCommand && operands[0] === helpCommand.#name) return this.#helpFor(operands[1]);
    if (this.commands.length && this.args.length === 0 && !this.#action) this.help({ error: true });
    if (unknown.some((word) => this.#helpOption?.is(word))) {
      this.outputHelp();
      this.#exit(0, "commander.helpDisplayed", "(outputHelp)");
    }
    this.#checkMandatoryOptions();
    if (this.#action) {
      this.#checkUnknownOptions(unknown);
      const values = this.#processArguments();
      for (const command of this.#ancestry().reverse()) {
        for (const hook of command.#preAction) await hook(command, this);
      }
      await this.#action.apply(this, [...values, this.opts(), this]);
      return;
    }
    if (operands.length && this.commands.length) this.#unknownCommand(operands[0]);
    this.#checkUnknownOptions(unknown);
    if (this.commands.length) this.help({ error: true });
    this.#processArguments();
  }

  /** `help NAME`: the help of NAME, or of this command without one. */
  #helpFor(name: string | undefined): never {
    if (!name) this.help();
    const sub = this.#findCommand(name);
    if (sub) sub.help();
    return this.help({ error: true });
  }

  /** `-5`, `-1.5`, `-2e3`, unless some command here or above has a digit as a short flag. */
  #isNegativeNumber(word: string): boolean {
    if (!/^-(\d+|\d*\.\d+)(e[+-]?\d+)?$/.test(word)) return false;
    return !this.#ancestry().some((command) =>
      command.options.some((option) => /^-\d$/.test(option.short ?? ""))
    );
  }

  /** An option met on the command line: `value` is undefined for a flag, null for a missing optional one. */
  #optionValue(option: Option, value: string | null | undefined) {
    if (this.#version?.option === option) {
      this.#output.writeOut(`${this.#version.text}\n`);
      this.#exit(0, "commander.version", this.#version.text);
    }
    const key = option.attributeName();
    // deno-lint-ignore no-explicit-any
    let parsed: any = value;
    if (value !== null && option.parseArg) {
      parsed = this.#callParser(
        option.parseArg,
        value as string,
        this.#values[key],
        `error: option '${option.flags}' argument '${value}' is invalid.`,
      );
    }
    if (parsed === null || parsed === undefined) {
      if (option.negate) parsed = false;
      else if (option.isBoolean() || option.optional) parsed = true;
      else parsed = "";
    }
    this.#setValue(key, parsed, "cli");
  }

  /** Runs a value parser; its InvalidArgumentError becomes a usage error after `invalid`. */
  #callParser(parse: ValueParser, value: string, previous: unknown, invalid: string): unknown {
    try {
      return parse(value, previous);
    } catch (error) {
      if (error instanceof CommanderError && error.code === "commander.invalidArgument") {
        this.error(`${invalid} ${error.message}`, { exitCode: error.exitCode, code: error.code });
      }
      throw error;
    }
  }

  #checkMandatoryOptions() {
    for (const command of this.#ancestry()) {
      for (const option of command.options) {
        if (option.mandatory && command.#values[option.attributeName()] === undefined) {
          command.error(`error: required option '${option.flags}' not specified`, {
            code: "commander.missingMandatoryOptionValue",
          });
        }
      }
    }
  }

  #checkUnknownOptions(unknown: string[]) {
    if (unknown.length === 0) return;
    const flag = unknown[0];
    let suggestion = "";
    if (flag.startsWith("--")) {
      const candidates: string[] = [];
      for (const command of this.#ancestry()) {
        for (const option of command.createHelp().visibleOptions(command)) {
          if (option.long) candidates.push(option.long);
        }
      }
      suggestion = suggestSimilar(flag, candidates, "option");
    }
    this.error(`error: unknown option '${flag}'${suggestion}`, {
      code: "commander.unknownOption",
    });
  }

  #unknownCommand(name: string): never {
    const candidates = this.createHelp().visibleCommands(this).flatMap((command) => [
      command.#name,
      ...command.#aliases.slice(0, 1),
    ]);
    return this.error(
      `error: unknown command '${name}'${suggestSimilar(name, candidates, "command")}`,
      {
        code: "commander.unknownCommand",
      },
    );
  }

  #optionMissingArgument(option: Option): never {
    return this.error(`error: option '${option.flags}' argument missing`, {
      code: "commander.optionMissingArgument",
    });
  }

  /** Checks the number of operands; returns each argument's value, through its parser. */
  #processArguments(): unknown[] {
    const declared = this.registeredArguments;
    declared.forEach((argument, i) => {
      if (argument.required && this.args[i] === undefined) {
        this.error(`error: missing required argument '${argument.name()}'`, {
          code: "commander.missingArgument",
        });
      }
    });
    if (!declared.at(-1)?.variadic && this.args.length > declared.length) {
      const expected = declared.length;
      const forCommand = this.parent ? ` for '${this.#name}'` : "";
      this.error(
        `error: too many arguments${forCommand}. Expected ${expected} argument${
          expected === 1 ? "" : "s"
        } but got ${this.args.length}.`,
        { code: "commander.excessArguments" },
      );
    }
    const parse = (argument: Argument, value: string, previous: unknown) =>
      argument.parseArg
        ? this.#callParser(
          argument.parseArg,
          value,
          previous,
          `error: command-argument value '${value}' is invalid for argument '${argument.name()}'.`,
        )
        : value;
    return declared.map((argument, i) => {
      if (argument.variadic) {
        if (i >= this.args.length) return argument.defaultValue ?? [];
        const rest = this.args.slice(i);
        return argument.parseArg
          ? rest.reduce<unknown>(
            (previous, value) => parse(argument, value, previous),
            argument.defaultValue,
          )
          : rest;
      }
      if (i >= this.args.length) return argument.defaultValue;
      return parse(argument, this.args[i], argument.defaultValue);
    });
  }
}
