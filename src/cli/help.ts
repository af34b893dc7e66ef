/**
 * What `--help`, the man pages and the shell completions say about each
 * command beyond the parser's own fields: examples, whether it takes store
 * locations, and which root options concern it. Everything is read from the
 * command tree, so a newly registered command is covered once it calls `document`.
 */
import { type Command, Help, type Option } from "./args/mod.ts";

export interface CommandDoc {
  /** Two or three examples: what it does, then the command line. */
  examples: readonly (readonly [what: string, line: string])[];
  /** Takes store locations (`-s`, `-c`): the help lists their forms. */
  stores?: boolean;
  /** Never touches the network: the remote-store options stay out of its help. */
  local?: boolean;
  /** The root's `--digest` chooses how it hashes (make, chunk, verify). */
  digest?: boolean;
}

/**
 * The store location forms, for help and man pages. A backend that adds a form
 * appends it here.
 */
export const STORE_LOCATION_FORMS: [form: string, meaning: string][] = [
  ["/path/to/dir", "local directory of <4 hex>/<id>.cacnk files"],
  ["http(s)://host/path/", "HTTP(S) store: GET, HEAD and PUT of <4 hex>/<id>.cacnk"],
  ["ssh://[user@]host[:port]/path", "casync's protocol over SSH (read-only)"],
  ["s3+http(s)://host[:port]/bucket/prefix", "S3-compatible object storage (?lookup=dns)"],
  ["sftp://[user@]host[:port]/path", "SFTP (keys from the agent, --identity or ~/.ssh)"],
  ["a|b", "a failover group: b is used when a fails"],
];

/**
 * Long names of the root options that concern remote stores and index URLs:
 * shown in the help of every command not marked `local`.
 */
export const REMOTE_OPTIONS = new Set<string>();

const docs = new WeakMap<Command, CommandDoc>();

/** Attaches examples (and the other facts above) to a command, for help, man page and tests. */
export function document(command: Command, doc: CommandDoc): Command {
  docs.set(command, doc);
  return command.addHelpText("after", () => helpAfter(doc));
}

export function docOf(command: Command): CommandDoc | undefined {
  return docs.get(command);
}

function helpAfter(doc: CommandDoc): string {
  const lines: string[] = [];
  if (doc.stores) {
    lines.push("", "Store locations:");
    const width = Math.max(...STORE_LOCATION_FORMS.map(([form]) => form.length));
    for (const [form, meaning] of STORE_LOCATION_FORMS) {
      lines.push(`  ${form.padEnd(width)}  ${meaning}`);
    }
  }
  lines.push("", "Examples:");
  for (const [what, line] of doc.examples) lines.push(`  # ${what}`, `  ${line}`);
  return lines.join("\n");
}

/** The root options that concern `command`: remote ones unless it is local, --digest if it hashes. */
export function globalOptionsFor(command: Command): Option[] {
  const root = rootOf(command);
  if (root === command) return [];
  const doc = docOf(command);
  return root.options.filter((option) => {
    const name = option.long?.replace(/^--/, "") ?? "";
    if (name === "version") return false;
    if (REMOTE_OPTIONS.has(name)) return !doc?.local;
    if (name === "digest") return doc?.digest === true;
    return true;
  });
}

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

/** Whether an option's default is worth printing: not an empty list, not a plain `false`. */
export function shownDefault(option: Option): boolean {
  const value = option.defaultValue;
  if (Array.isArray(value) && value.length === 0) return false;
  if (value === false && !option.defaultValueDescription) return false;
  return true;
}

/** Help that shows each command the root options it uses, and defaults only where they say something. */
export function configureHelp(program: Command): Command {
  const base = new Help();
  return program.configureHelp({
    showGlobalOptions: true,
    visibleGlobalOptions: (command: Command) => globalOptionsFor(command),
    optionDescription: (option: Option) => {
      if (shownDefault(option)) return base.optionDescription(option);
      const quiet = Object.assign(Object.create(Object.getPrototypeOf(option)), option, {
        defaultValue: undefined,
      });
      return base.optionDescription(quiet);
    },
  });
}
