/**
 * Go desync's flag parser accepts `--flag=true` and `--flag=false` for boolean
 * flags (`--cache-repair=false`), and a short flag's value after `=` (`-r=false`,
 * `-n=4`); our parser, as commander's, does not. This rewrites them into the forms it takes,
 * knowing which options of the tree are boolean.
 */
import type { Command } from "./args/mod.ts";

/** The values Go's strconv.ParseBool accepts. */
const TRUE = new Set(["1", "t", "T", "true", "TRUE", "True"]);
const FALSE = new Set(["0", "f", "F", "false", "FALSE", "False"]);

export function normalizeBoolFlags(args: readonly string[], program: Command): string[] {
  const booleans = new Set<string>();
  const negatable = new Set<string>();
  /** Each short flag's long names (one, unless two commands give it different meanings). */
  const shorts = new Map<string, Set<string>>();
  /** Short flags that take a value. */
  const valued = new Set<string>();
  const visit = (command: Command) => {
    for (const option of command.options) {
      if (option.short && option.long) {
        shorts.set(option.short, (shorts.get(option.short) ?? new Set()).add(option.long));
        if (option.required || option.optional) valued.add(option.short);
      }
      if (option.required || option.optional || !option.long) continue;
      if (option.negate) negatable.add(option.long.replace(/^--no-/, "--"));
      else booleans.add(option.long);
    }
    command.commands.forEach(visit);
  };
  visit(program);
  const out: string[] = [];
  for (let [i, arg] of args.entries()) {
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const short = /^(-[^-=])=(.*)$/.exec(arg);
    const longs = short ? shorts.get(short[1]) : undefined;
    if (short && longs?.size === 1) {
      if (valued.has(short[1])) {
        out.push(short[1], short[2]);
        continue;
      }
      arg = `${[...longs][0]}=${short[2]}`;
    }
    const match = /^(--[^=]+)=(.*)$/.exec(arg);
    const negated = match && /^--no-(.+)$/.exec(match[1]);
    if (
      negated && negatable.has(`--${negated[1]}`) && (TRUE.has(match[2]) || FALSE.has(match[2]))
    ) {
      // Go's flag is `--no-same-owner` itself, so it takes `--no-same-owner=true` too.
      const plain = `--${negated[1]}`;
      if (TRUE.has(match[2])) out.push(match[1]);
      // =false turns the negation off: the plain flag where there is one, else the default.
      else if (booleans.has(plain)) out.push(plain);
      continue;
    }
    // A flag with only a --no- form counts too (tar's --no-same-owner): the run builds only
    // its own command, so no other command's plain --same-owner makes it known.
    if (!match || !(booleans.has(match[1]) || negatable.has(match[1]))) {
      out.push(arg);
    } else if (TRUE.has(match[2])) {
      // Only a --no- form: the flag is on by default, so leaving it out says the same.
      if (booleans.has(match[1])) out.push(match[1]);
    } else if (FALSE.has(match[2])) {
      // A plain boolean defaults to false: leaving it out says the same.
      if (negatable.has(match[1])) out.push(`--no-${match[1].slice(2)}`);
    } else {
      out.push(arg); // the parser explains what is wrong with it
    }
  }
  return out;
}
