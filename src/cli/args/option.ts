/** One option of a command: its flags, whether it takes a value, its default and parser. */
import { ValueHolder } from "./value.ts";

export type { ValueParser } from "./value.ts";

/** `-s`, `--store` out of flags such as "-s, --store <location>" (separated by spaces, commas or |). */
function splitFlags(flags: string): { short?: string; long?: string } {
  let short: string | undefined;
  let long: string | undefined;
  for (const part of flags.split(/[ |,]+/)) {
    if (part === "") continue;
    // The flags come first; what follows (`<value>`) is the value's name.
    if (!part.startsWith("-")) break;
    if (/^-[^-]$/.test(part) && short === undefined && long === undefined) short = part;
    else if (/^--[^-]/.test(part) && long === undefined) long = part;
    else throw new Error(`option flags '${flags}': cannot use '${part}'`);
  }
  if (short === undefined && long === undefined) {
    throw new Error(`option flags '${flags}' name no flag`);
  }
  return { short, long };
}

/** "dry-run" as the key of the parsed values: "dryRun". */
export function camelCase(name: string): string {
  return name.replace(/-(.)/g, (_, letter: string) => letter.toUpperCase());
}

export class Option extends ValueHolder {
  readonly flags: string;
  /** Takes a value that must follow it (`<value>`). */
  readonly required: boolean;
  /** Takes a value that may follow it (`[value]`). */
  readonly optional: boolean;
  /** Always false: options taking several values are not supported. */
  readonly variadic = false;
  /** Must have a value once parsed (`requiredOption`). */
  mandatory = false;
  readonly short?: string;
  readonly long?: string;
  /** A `--no-name` option: sets `name` to false. */
  readonly negate: boolean;
  hidden = false;

  constructor(flags: string, description?: string) {
    super(description);
    this.flags = flags;
    this.required = flags.includes("<");
    this.optional = flags.includes("[");
    if (/\w\.\.\.[>\]]$/.test(flags)) {
      throw new Error(`option flags '${flags}': options with several values are not supported`);
    }
    const { short, long } = splitFlags(flags);
    this.short = short;
    this.long = long;
    this.negate = long?.startsWith("--no-") ?? false;
  }

  hideHelp(hide = true): this {
    this.hidden = hide;
    return this;
  }

  /** The flag without dashes: the long one if there is one. */
  name(): string {
    return this.long !== undefined ? this.long.slice(2) : this.short!.slice(1);
  }

  /** The key of the parsed values: `--no-seed-output` sets `seedOutput`. */
  attributeName(): string {
    return camelCase(this.negate ? this.name().slice(3) : this.name());
  }

  is(flag: string): boolean {
    return this.short === flag || this.long === flag;
  }

  /** A plain flag: no value, not a `--no-` form. */
  isBoolean(): boolean {
    return !this.required && !this.optional && !this.negate;
  }
}
