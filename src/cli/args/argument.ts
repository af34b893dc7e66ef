/** One positional argument of a command: `<required>`, `[optional]`, `<many...>`. */
import { InvalidArgumentError } from "./errors.ts";
import type { ValueParser } from "./option.ts";

export class Argument {
  description: string;
  readonly required: boolean;
  /** Takes every remaining argument (only the last one may). */
  readonly variadic: boolean;
  // deno-lint-ignore no-explicit-any
  defaultValue: any = undefined;
  defaultValueDescription?: string;
  parseArg?: ValueParser;
  argChoices?: readonly string[];
  readonly #name: string;

  constructor(name: string, description?: string) {
    this.description = description ?? "";
    const bracketed = /^[<[]/.test(name);
    this.required = !name.startsWith("[");
    let bare = bracketed ? name.slice(1, -1) : name;
    this.variadic = bare.endsWith("...");
    if (this.variadic) bare = bare.slice(0, -3);
    this.#name = bare;
  }

  name(): string {
    return this.#name;
  }

  // deno-lint-ignore no-explicit-any
  default(value: any, description?: string): this {
    this.defaultValue = value;
    this.defaultValueDescription = description;
    return this;
  }

  argParser(parse: ValueParser): this {
    this.parseArg = parse;
    return this;
  }

  /** Only these values are accepted; help lists them. */
  choices(values: readonly string[]): this {
    const allowed = values.slice();
    this.argChoices = allowed;
    this.parseArg = (value: string, previous: unknown) => {
      if (!allowed.includes(value)) {
        throw new InvalidArgumentError(`Allowed choices are ${allowed.join(", ")}.`);
      }
      if (!this.variadic) return value;
      return Array.isArray(previous) && previous !== this.defaultValue
        ? [...previous, value]
        : [value];
    };
    return this;
  }
}

/** `<name>`, `[name]`, `<name...>`: an argument as usage lines show it. */
export function argumentTerm(argument: Argument): string {
  const name = argument.name() + (argument.variadic ? "..." : "");
  return argument.required ? `<${name}>` : `[${name}]`;
}
