/**
 * The text `--help` prints: a usage line, the description, then the
 * arguments, options, global options and commands in two aligned columns,
 * descriptions wrapped to the width (80 columns unless on a terminal).
 * Any method may be replaced through `Command.configureHelp`.
 */
import { type Argument, argumentTerm } from "./argument.ts";
import type { Command } from "./command.ts";
import type { Option } from "./option.ts";

/** Columns between the margin and an item, and between its term and its description. */
const INDENT = 2;
const GAP = 2;

export class Help {
  /** Set from the output before formatting: the terminal's width, else 80. */
  helpWidth?: number;
  /** Narrower than this, descriptions are not wrapped at all. */
  minWidthToWrap = 40;
  /** List the ancestors' options under "Global Options:". */
  showGlobalOptions = false;

  prepareContext(context: { helpWidth?: number }) {
    this.helpWidth = this.helpWidth ?? context.helpWidth ?? 80;
  }

  /** Subcommands not hidden, and the implicit `help` command. */
  visibleCommands(command: Command): Command[] {
    const visible = command.commands.filter((sub) => !sub.hidden);
    const help = command.helpCommand();
    if (help) visible.push(help);
    return visible;
  }

  /** Options not hidden, and `-h, --help`. */
  visibleOptions(command: Command): Option[] {
    const visible = command.options.filter((option) => !option.hidden);
    const help = command.helpOption();
    if (help) visible.push(help);
    return visible;
  }

  /** Options of the ancestors, nearest first (only with `showGlobalOptions`). */
  visibleGlobalOptions(command: Command): Option[] {
    if (!this.showGlobalOptions) return [];
    const options: Option[] = [];
    for (let up = command.parent; up; up = up.parent) {
      options.push(...up.options.filter((option) => !option.hidden));
    }
    return options;
  }

  /** The arguments, listed only when at least one has a description. */
  visibleArguments(command: Command): Argument[] {
    const args = command.registeredArguments;
    return args.some((argument) => argument.description) ? args.slice() : [];
  }

  /** `extract [options] <index> <output>`: a command as its parent's list shows it. */
  subcommandTerm(command: Command): string {
    const alias = command.aliases()[0];
    return [
      command.name() + (alias !== undefined ? `|${alias}` : ""),
      ...(command.options.length ? ["[options]"] : []),
      ...command.registeredArguments.map(argumentTerm),
    ].join(" ");
  }

  optionTerm(option: Option): string {
    return option.flags;
  }

  argumentTerm(argument: Argument): string {
    return argument.name();
  }

  /** `desync extract [options] <index> <output>`. */
  commandUsage(command: Command): string {
    const alias = command.aliases()[0];
    const names = [command.name() + (alias !== undefined ? `|${alias}` : "")];
    for (let up = command.parent; up; up = up.parent) names.unshift(up.name());
    return `${names.join(" ")} ${command.usage()}`;
  }

  commandDescription(command: Command): string {
    return command.description();
  }

  subcommandDescription(command: Command): string {
    return command.description();
  }

  /** The description, then what it accepts and its default in parentheses. */
  optionDescription(option: Option): string {
    const extra: string[] = [];
    if (option.argChoices) extra.push(`choices: ${quoteAll(option.argChoices)}`);
    if (option.defaultValue !== undefined) {
      const shown = option.required || option.optional ||
        (option.isBoolean() && typeof option.defaultValue === "boolean");
      if (shown) extra.push(`default: ${describeDefault(option)}`);
    }
    return withExtra(option.description, extra);
  }

  argumentDescription(argument: Argument): string {
    const extra: string[] = [];
    if (argument.argChoices) extra.push(`choices: ${quoteAll(argument.argChoices)}`);
    if (argument.defaultValue !== undefined) extra.push(`default: ${describeDefault(argument)}`);
    return withExtra(argument.description, extra);
  }

  /** How wide the term column is: the longest term of any section. */
  padWidth(command: Command): number {
    const longest = (terms: string[]) => Math.max(0, ...terms.map((term) => term.length));
    return Math.max(
      longest(this.visibleOptions(command).map((option) => this.optionTerm(option))),
      longest(this.visibleGlobalOptions(command).map((option) => this.optionTerm(option))),
      longest(this.visibleCommands(command).map((sub) => this.subcommandTerm(sub))),
      longest(this.visibleArguments(command).map((argument) => this.argumentTerm(argument))),
    );
  }

  formatHelp(command: Command): string {
    const width = this.padWidth(command);
    const item = (term: string, description: string) => this.formatItem(term, width, description);
    const lines = [`Usage: ${this.commandUsage(command)}`, ""];
    const description = this.commandDescription(command);
    if (description) lines.push(this.boxWrap(description, this.helpWidth ?? 80), "");
    const section = (title: string, items: string[]) => {
      if (items.length) lines.push(title, ...items, "");
    };
    section(
      "Arguments:",
      this.visibleArguments(command).map((argument) =>
        item(this.argumentTerm(argument), this.argumentDescription(argument))
      ),
    );
    section(
      "Options:",
      this.visibleOptions(command).map((option) =>
        item(this.optionTerm(option), this.optionDescription(option))
      ),
    );
    if (this.showGlobalOptions) {
      section(
        "Global Options:",
        this.visibleGlobalOptions(command).map((option) =>
          item(this.optionTerm(option), this.optionDescription(option))
        ),
      );
    }
    section(
      "Commands:",
      this.visibleCommands(command).map((sub) =>
        item(this.subcommandTerm(sub), this.subcommandDescription(sub))
      ),
    );
    return lines.join("\n");
  }

  /**
   * `  term    description`, the description wrapped in its column; left as
   * written when the column would be narrower than minWidthToWrap or the text
   * is laid out already (a line break followed by indentation).
   */
  formatItem(term: string, termWidth: number, description: string): string {
    const margin = " ".repeat(INDENT);
    if (!description) return margin + term;
    const column = (this.helpWidth ?? 80) - termWidth - GAP - INDENT;
    let text = description;
    if (column >= this.minWidthToWrap && !/\n[^\S\r\n]/.test(description)) {
      text = this.boxWrap(description, column).replaceAll("\n", `\n${" ".repeat(termWidth + GAP)}`);
    }
    return margin + term.padEnd(termWidth) + " ".repeat(GAP) + text.replaceAll("\n", `\n${margin}`);
  }

  /**
   * Wraps each line of `text` at spaces to at most `width` columns (a word
   * longer than that gets a line of its own); narrower than minWidthToWrap, leaves it.
   */
  boxWrap(text: string, width: number): string {
    if (width < this.minWidthToWrap) return text;
    const out: string[] = [];
    for (const line of text.split(/\r\n|\n/)) {
      // Each word with the white space before it.
      const words = line.match(/\s*\S+/g);
      if (words === null) {
        out.push("");
        continue;
      }
      let current = words[0];
      for (const word of words.slice(1)) {
        if (current.length + word.length <= width) {
          current += word;
        } else {
          out.push(current);
          current = word.trimStart();
        }
      }
      out.push(current);
    }
    return out.join("\n");
  }
}

function quoteAll(values: readonly string[]): string {
  return values.map((value) => JSON.stringify(value)).join(", ");
}

function describeDefault(item: { defaultValue?: unknown; defaultValueDescription?: string }) {
  return item.defaultValueDescription || JSON.stringify(item.defaultValue);
}

function withExtra(description: string, extra: string[]): string {
  if (extra.length === 0) return description;
  const parenthesis = `(${extra.join(", ")})`;
  return description ? `${description} ${parenthesis}` : parenthesis;
}
