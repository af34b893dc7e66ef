/** One positional argument of a command: `<required>`, `[optional]`, `<many...>`. */
import { ValueHolder } from "./value.ts";

export class Argument extends ValueHolder {
  readonly required: boolean;
  /** Takes every remaining argument (only the last one may). */
  readonly variadic: boolean;
  readonly #name: string;

  constructor(name: string, description?: string) {
    super(description);
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
}

/** `<name>`, `[name]`, `<name...>`: an argument as usage lines show it. */
export function argumentTerm(argument: Argument): string {
  const name = argument.name() + (argument.variadic ? "..." : "");
  return argument.required ? `<${name}>` : `[${name}]`;
}
