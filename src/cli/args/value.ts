/** What options and arguments share: a description, a default, a value parser, choices. */
import { InvalidArgumentError } from "./errors.ts";

// Parsers see what the user typed and the value so far, whatever the option collects.
// deno-lint-ignore no-explicit-any
export type ValueParser = (value: string, previous: any) => any;

export abstract class ValueHolder {
  description: string;
  // deno-lint-ignore no-explicit-any
  defaultValue: any = undefined;
  /** How help shows the default, when not as JSON. */
  defaultValueDescription?: string;
  parseArg?: ValueParser;
  argChoices?: readonly string[];
  /** Collects every value it is given into a list. */
  abstract readonly variadic: boolean;

  constructor(description?: string) {
    this.description = description ?? "";
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
