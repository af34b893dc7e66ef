/**
 * The command line: builds the command tree and maps errors to one line on
 * stderr and an exit code.
 */
import { Command, CommanderError } from "./args/mod.ts";
import denoConfig from "../../deno.json" with { type: "json" };
import { addConfigOptions } from "./store_config.ts";
import { DesyncError } from "../errors.ts";
import {
  addGlobalOptions,
  addRemoteOptions,
  applyGlobalSettings,
  checkStoreOptions,
} from "./common.ts";
import { configureHelp, document } from "./help.ts";
import { normalizeBoolFlags } from "./go_args.ts";
import { escapeControls } from "../util/printable.ts";

const VERSION = denoConfig.version;

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when the command is built: a command
 * should not pay for loading the others (tar's, the servers', ...).
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  "extract": async () => (await import("./extract.ts")).registerExtract,
  "verify": async () => (await import("./verify.ts")).registerVerify,
  "list-chunks": async () => (await import("./list_chunks.ts")).registerListChunks,
  "cache": async () => (await import("./cache.ts")).registerCache,
  "chop": async () => (await import("./chop.ts")).registerChop,
  "make": async () => (await import("./make.ts")).registerMake,
  "chunk": async () => (await import("./chunk.ts")).registerChunk,
  "info": async () => (await import("./info.ts")).registerInfo,
  "verify-index": async () => (await import("./verify_index.ts")).registerVerifyIndex,
  "cat": async () => (await import("./cat.ts")).registerCat,
  "prune": async () => (await import("./prune.ts")).registerPrune,
  "tar": async () => (await import("./tar.ts")).registerTar,
  "untar": async () => (await import("./untar.ts")).registerUntar,
  "mtree": async () => (await import("./mtree.ts")).registerMtree,
  "chunk-server": async () => (await import("./chunk_server.ts")).registerChunkServer,
  "index-server": async () => (await import("./index_server.ts")).registerIndexServer,
  "pull": async () => (await import("./pull.ts")).registerPull,
  "config": async () => (await import("./config.ts")).registerConfig,
  "inspect-chunks": async () => (await import("./inspect_chunks.ts")).registerInspectChunks,
  // Last: they describe the commands registered before them.
  "completion": async () => (await import("./completions.ts")).registerCompletion,
  "manpage": async () => {
    const { registerManpage } = await import("./manpage.ts");
    return (program) => registerManpage(program, VERSION);
  },
};

/**
 * A parser error as one line: "desync: " for the parser's "error: ", its
 * suggestion ("\n(Did you mean --verbose?)") joined to the line, and control
 * characters of what the user typed escaped.
 */
function parserMessage(message: string): string {
  return escapeControls(
    message.trimEnd().replace(/^error: /, "desync: ")
      .replace(/\n\(Did you mean ([^)]*)\)$/, " (did you mean $1)"),
  );
}

/** Commands that describe the others, so they need the whole tree. */
const WHOLE_TREE = new Set(["completion", "manpage"]);

/**
 * The command tree: every command, or only `command` (the one being run) so
 * that a run loads no other command's modules.
 */
export async function buildProgram(command?: string): Promise<Command> {
  const names = command !== undefined && Object.hasOwn(COMMANDS, command) &&
      !WHOLE_TREE.has(command)
    ? [command]
    : Object.keys(COMMANDS);
  const registers = await Promise.all(names.map((name) => COMMANDS[name]()));
  const program = new Command("desync")
    .description("casync-compatible content-addressed distribution of large files")
    .version(VERSION, "--version")
    .configureOutput({
      // Every error line starts with "desync:", the parser's too.
      outputError: (message, write) => write(`${parserMessage(message)}\n`),
    })
    .hook("preAction", (_, action) => {
      applyGlobalSettings(action);
      // Mistyped store locations are usage errors before any index is fetched.
      checkStoreOptions(action.opts());
    })
    .exitOverride();
  // Before the commands: they inherit the help settings when created.
  configureHelp(program);
  addGlobalOptions(program);
  addRemoteOptions(program);
  addConfigOptions(program);
  for (const register of registers) register(program);
  document(program, {
    examples: [
      [
        "assemble an image from a store",
        "desync extract -s http://mirror/store image.caibx image.img",
      ],
      ["chunk an image into a store", "desync make -s /srv/store image.caibx image.img"],
      ["help on one command", "desync help extract"],
    ],
  });
  for (const command of program.commands) command.exitOverride();
  return program;
}

/**
 * `help NAME` for a name that is no command: the parser prints the whole help on
 * stderr for it; parsed as `NAME`, it is one line naming it (with a suggestion).
 * `help help` is the root's help, as `help` alone.
 */
function helpTopic(args: string[], program: Command): string[] {
  const [first, name] = args;
  if (first !== "help" || name === undefined) return args;
  if (name === "help") return ["help"];
  const known = program.commands.some((c) => c.name() === name || c.aliases().includes(name));
  return known ? args : [name, ...args.slice(2)];
}

/**
 * The one line a failure prints. Messages carry names from outside (file
 * names, a config file's text in JSON.parse's words): a newline or a terminal
 * escape in them must not break the line or drive the terminal.
 */
function fail(message: string) {
  console.error(`desync: ${escapeControls(message)}`);
}

/** Runs the CLI on `args`; returns the exit code instead of exiting, for tests. */
export async function run(args: string[]): Promise<number> {
  // Bare `desync` is a request for help, as in Go desync: on stdout, exit 0.
  if (args.length === 0) args = ["--help"];
  try {
    // A command named first is the one run: only it is built. Anything else (help, global
    // options first, a mistyped name) gets the whole tree, which says what is wrong.
    const program = await buildProgram(args[0]);
    await program.parseAsync(normalizeBoolFlags(helpTopic(args, program), program), {
      from: "user",
    });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // The parser has already printed its message.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof DesyncError) {
      fail(error.message);
      return error.exitCode;
    }
    if (error instanceof Deno.errors.NotCapable) {
      fail(`${error.message} (see the README for the permission flags)`);
      return 1;
    }
    fail(error instanceof Error ? error.message : String(error));
    return 1;
  }
}
