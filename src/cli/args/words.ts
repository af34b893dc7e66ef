/**
 * How one command's words split: its options (with their values) are taken
 * out and reported; the rest are operands, until the first unknown option,
 * which goes with everything after it to the subcommand (or an error), the
 * command's own options among them still taken.
 */
import type { Option } from "./option.ts";

export interface Scanned {
  operands: string[];
  /** The first unknown option and every word after it that is not this command's option. */
  unknown: string[];
}

export interface ScanContext {
  findOption(flag: string): Option | undefined;
  /** `-5` and the like, when no command in reach has a digit as a flag. */
  isNegativeNumber(word: string): boolean;
  /** A command with subcommands leaves negative numbers to them. */
  hasSubcommands: boolean;
  /** An option met: `value` undefined for a flag, null for a missing optional value. */
  onOption(option: Option, value: string | null | undefined): void;
  /** An option that needs a value came last. */
  onMissingValue(option: Option): never;
}

/** A word that looks like an option: a dash and something after it. */
function looksLikeOption(word: string): boolean {
  return word.length > 1 && word[0] === "-";
}

export function scanWords(words: readonly string[], context: ScanContext): Scanned {
  const operands: string[] = [];
  const unknown: string[] = [];
  let dest = operands;
  let i = 0;
  /** The rest of a group of short flags (`-i` of `-ti`, once `-t` is taken). */
  let group: string | undefined;
  while (i < words.length || group !== undefined) {
    const word = group ?? words[i++];
    group = undefined;
    if (word === "--") {
      // Operands only from here on; kept for the subcommand when in the unknown part.
      if (dest === unknown) dest.push(word);
      dest.push(...words.slice(i));
      break;
    }
    if (looksLikeOption(word)) {
      const option = context.findOption(word);
      if (option) {
        if (option.required) {
          if (i >= words.length) context.onMissingValue(option);
          context.onOption(option, words[i++]);
        } else if (option.optional) {
          const next = words[i];
          const takes = i < words.length &&
            (!looksLikeOption(next) || context.isNegativeNumber(next));
          context.onOption(option, takes ? words[i++] : null);
        } else {
          context.onOption(option, undefined);
        }
        continue;
      }
    }
    if (word.length > 2 && word[0] === "-" && word[1] !== "-") {
      // `-n4`: a short flag with its value attached; `-ti`: a group of flags.
      const option = context.findOption(word.slice(0, 2));
      if (option) {
        if (option.required || option.optional) {
          context.onOption(option, word.slice(2));
        } else {
          context.onOption(option, undefined);
          group = `-${word.slice(2)}`;
        }
        continue;
      }
    }
    if (/^--[^=]+=/.test(word)) {
      const at = word.indexOf("=");
      const option = context.findOption(word.slice(0, at));
      if (option && (option.required || option.optional)) {
        context.onOption(option, word.slice(at + 1));
        continue;
      }
    }
    // A negative number is an operand where no subcommand can take it as an option.
    if (
      dest === operands && looksLikeOption(word) &&
      !(!context.hasSubcommands && context.isNegativeNumber(word))
    ) {
      dest = unknown;
    }
    dest.push(word);
  }
  return { operands, unknown };
}
