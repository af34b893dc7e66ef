/**
 * `desync manpage DIR`: roff man pages generated from the command tree, one
 * for the program (desync.1) and one per command (desync-extract.1, …), as Go
 * desync's `manpage` writes them.
 */
import type { Command } from "./args/mod.ts";
import { type CommandSpec, commandSpecs, type OptionSpec, rootOptions } from "./command_tree.ts";
import { document, STORE_LOCATION_FORMS } from "./help.ts";
import { writeAll, writeAtomically } from "../util/fs.ts";
import { DesyncError, UsageError } from "../errors.ts";
import { describeFsError } from "../util/fs.ts";

export interface ManHeader {
  title: string;
  section: string;
  source: string;
  manual: string;
}

/** Environment variables the program reads, for the main page. */
const ENVIRONMENT: [string, string][] = [
  ["CASYNC_SSH_PATH", "the ssh program for ssh:// stores (default: ssh)"],
  ["CASYNC_REMOTE_PATH", "the casync program on the remote host (default: casync)"],
  ["DESYNC_HTTP_AUTH", "the Authorization header for HTTP stores, unless --http-auth is given"],
  ["DESYNC_PROGRESSBAR_ENABLED", "when set, draw progress bars even when stderr is no terminal"],
  [
    "DESYNC_ENABLE_PARSABLE_PROGRESS",
    "when set, write progress as plain lines, one every 500 ms, for logs",
  ],
];

export function registerManpage(program: Command, version: string) {
  const command = program.command("manpage")
    .description("write man pages for desync and each of its commands into a directory")
    .argument("<dir>", "directory to write the pages to (created if missing)")
    .option("--title <title>", "title of the main page", "desync")
    .option("--section <section>", "manual section", "1")
    .option("--source <source>", "source shown in the footer", `desync ${version}`)
    .option("--manual <manual>", "manual name shown in the header", "desync manual");
  document(command, {
    local: true,
    examples: [
      [
        "write the pages and read one",
        "desync manpage /tmp/man && man -l /tmp/man/desync-extract.1",
      ],
      ["install them for man(1)", "desync manpage ~/.local/share/man/man1"],
    ],
  });
  command.action(async (dir: string, opts: ManHeader) => {
    // Deno creates "" (recursively) without a word, and "" + "/desync.1" is in the root directory.
    if (dir === "") throw new UsageError("manpage: the directory name is empty");
    const pages = manPages(program, opts);
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (error) {
      throw new DesyncError(`${dir}: cannot create directory: ${describeFsError(error)}`, {
        cause: error,
      });
    }
    for (const [name, text] of pages) {
      const bytes = new TextEncoder().encode(text);
      await writeAtomically(`${dir}/${name}`, (file) => writeAll(file, bytes));
    }
  });
}

/** Every page, by file name. */
export function manPages(program: Command, header: ManHeader): Map<string, string> {
  const name = program.name();
  const commands = commandSpecs(program);
  const pages = new Map<string, string>();
  pages.set(`${name}.${header.section}`, mainPage(program, commands, header));
  for (const command of commands) {
    pages.set(
      `${name}-${command.name}.${header.section}`,
      commandPage(name, command, header),
    );
  }
  return pages;
}

/** Text for roff: backslashes, hyphens (so options copy as typed) and leading dots escaped. */
export function roff(text: string): string {
  return text.replaceAll("\\", "\\e").replaceAll("-", "\\-").replace(/^([.'])/gm, "\\&$1");
}

function th(title: string, header: ManHeader): string {
  return `.TH ${quote(title.toUpperCase())} ${quote(header.section)} "" ${quote(header.source)} ${
    quote(header.manual)
  }`;
}

function quote(text: string): string {
  return `"${roff(text).replaceAll('"', "\\(dq")}"`;
}

function optionItems(options: OptionSpec[]): string[] {
  return options.flatMap((option) => {
    const flags = [option.short, option.long].filter((f) => f !== undefined)
      .map((flag) => `\\fB${roff(flag!)}\\fR`).join(", ");
    const value = option.value ? ` \\fI${roff(option.value)}\\fR` : "";
    const extra = [
      option.choices ? `one of: ${option.choices.join(", ")}` : undefined,
      option.defaultText !== undefined ? `default: ${option.defaultText}` : undefined,
    ].filter((x) => x !== undefined);
    const description = option.description + (extra.length ? ` (${extra.join("; ")})` : "");
    return [".TP", `${flags}${value}`, roff(description)];
  });
}

function mainPage(program: Command, commands: CommandSpec[], header: ManHeader): string {
  const name = program.name();
  const lines = [
    th(header.title, header),
    ".SH NAME",
    `${roff(name)} \\- ${roff(program.description())}`,
    ".SH SYNOPSIS",
    `.B ${roff(name)}`,
    "[\\fIoptions\\fR] \\fIcommand\\fR [\\fIcommand options\\fR] [\\fIarguments\\fR]",
    ".SH DESCRIPTION",
    roff(
      `${name} reads and writes casync's indexes (.caibx) and chunk stores, byte-identical to ` +
        "casync and Go desync. Each command has its own page.",
    ),
    ".SH COMMANDS",
    ...commands.flatMap((command) => [
      ".TP",
      `\\fB${roff(command.name)}\\fR ${roff(command.usage)}`,
      `${roff(command.summary)}; see \\fB${
        roff(`${name}-${command.name}`)
      }\\fR(${header.section}).`,
    ]),
    ".SH OPTIONS",
    ...optionItems(rootOptions(program)),
    ".SH STORE LOCATIONS",
    ...STORE_LOCATION_FORMS.flatMap((
      [form, meaning],
    ) => [".TP", `\\fB${roff(form)}\\fR`, roff(meaning)]),
    ".SH ENVIRONMENT",
    ...ENVIRONMENT.flatMap((
      [variable, meaning],
    ) => [".TP", `\\fB${roff(variable)}\\fR`, roff(meaning)]),
    ".SH EXIT STATUS",
    roff(
      "0 on success, 1 when the operation failed, 2 for a usage error, " +
        "130, 143 or 129 when stopped by SIGINT, SIGTERM or SIGHUP.",
    ),
    ".SH SEE ALSO",
    commands.map((command) => `\\fB${roff(`${name}-${command.name}`)}\\fR(${header.section})`)
      .join(",\n") + ", \\fBcasync\\fR(1)",
  ];
  return lines.join("\n") + "\n";
}

function commandPage(program: string, command: CommandSpec, header: ManHeader): string {
  const full = `${program}-${command.name}`;
  const lines = [
    th(full, header),
    ".SH NAME",
    `${roff(full)} \\- ${roff(command.summary)}`,
    ".SH SYNOPSIS",
    `.B ${roff(`${program} ${command.name}`)}`,
    roff(command.usage),
  ];
  if (command.aliases.length) {
    lines.push(".PP", roff(`Also called: ${command.aliases.join(", ")}.`));
  }
  lines.push(".SH DESCRIPTION", roff(`${command.summary}.`));
  if (command.arguments.length) {
    lines.push(".SH ARGUMENTS");
    for (const argument of command.arguments) {
      lines.push(".TP", `\\fI${roff(argument.name)}\\fR`, roff(argument.description));
    }
  }
  lines.push(".SH OPTIONS", ...optionItems(command.options));
  if (command.globalOptions.length) {
    lines.push(".SH GLOBAL OPTIONS", ...optionItems(command.globalOptions));
  }
  if (command.stores) {
    lines.push(".SH STORE LOCATIONS");
    for (const [form, meaning] of STORE_LOCATION_FORMS) {
      lines.push(".TP", `\\fB${roff(form)}\\fR`, roff(meaning));
    }
  }
  if (command.examples.length) {
    lines.push(".SH EXAMPLES");
    for (const [what, line] of command.examples) {
      lines.push(".PP", roff(`${what}:`), ".PP", ".RS 4", ".nf", roff(line), ".fi", ".RE");
    }
  }
  lines.push(".SH SEE ALSO", `\\fB${roff(program)}\\fR(${header.section})`);
  return lines.join("\n") + "\n";
}
