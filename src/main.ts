/**
 * desync: casync-compatible content-addressed distribution of large files.
 * Builds the command tree and maps errors to one line on stderr and an exit code.
 */
import { Command, CommanderError } from "commander";
import denoConfig from "../deno.json" with { type: "json" };
import { registerCache } from "./cli/cache.ts";
import { registerChop } from "./cli/chop.ts";
import { registerExtract } from "./cli/extract.ts";
import { registerListChunks } from "./cli/list_chunks.ts";
import { registerMake } from "./cli/make.ts";
import { registerChunk } from "./cli/chunk.ts";
import { registerInfo } from "./cli/info.ts";
import { registerVerifyIndex } from "./cli/verify_index.ts";
import { registerCat } from "./cli/cat.ts";
import { registerPrune } from "./cli/prune.ts";
import { registerVerify } from "./cli/verify.ts";
import { registerTar } from "./cli/tar.ts";
import { registerUntar } from "./cli/untar.ts";
import { registerMtree } from "./cli/mtree.ts";
import { registerChunkServer } from "./cli/chunk_server.ts";
import { registerIndexServer } from "./cli/index_server.ts";
import { registerPull } from "./cli/pull.ts";
import { registerConfig } from "./cli/config.ts";
import { addConfigOptions } from "./cli/store_config.ts";
import { registerInspectChunks } from "./cli/inspect_chunks.ts";
import { registerCompletion } from "./cli/completions.ts";
import { registerManpage } from "./cli/manpage.ts";
import { DesyncError } from "./errors.ts";
import {
  addGlobalOptions,
  addRemoteOptions,
  applyGlobalSettings,
  checkStoreOptions,
  prewarmCodecPool,
} from "./cli/common.ts";
import { configureHelp, document } from "./cli/help.ts";
import { normalizeBoolFlags } from "./cli/go_args.ts";

export const VERSION = denoConfig.version;

export function buildProgram(): Command {
  const program = new Command("desync")
    .description("casync-compatible content-addressed distribution of large files")
    .version(VERSION, "--version")
    .showHelpAfterError(false)
    .configureOutput({
      // Commander's colour detection reads environment variables; asking would need --allow-env.
      getOutHasColors: () => false,
      getErrHasColors: () => false,
      // Every error line starts with "desync:", the parser's too.
      outputError: (message, write) => write(message.replace(/^error: /, "desync: ")),
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
  registerExtract(program);
  registerVerify(program);
  registerListChunks(program);
  registerCache(program);
  registerChop(program);
  registerMake(program);
  registerChunk(program);
  registerInfo(program);
  registerVerifyIndex(program);
  registerCat(program);
  registerPrune(program);
  registerTar(program);
  registerUntar(program);
  registerMtree(program);
  registerChunkServer(program);
  registerIndexServer(program);
  registerPull(program);
  registerConfig(program);
  registerInspectChunks(program);
  // Last: they describe the commands registered before them.
  registerCompletion(program);
  registerManpage(program, VERSION);
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

/** Runs the CLI on `args`; returns the exit code instead of exiting, for tests. */
export async function run(args: string[]): Promise<number> {
  try {
    const program = buildProgram();
    await program.parseAsync(normalizeBoolFlags(args, program), { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof DesyncError) {
      console.error(`desync: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof Deno.errors.NotCapable) {
      console.error(`desync: ${error.message} (see the README for the permission flags)`);
      return 1;
    }
    console.error(`desync: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/** Commands that run codec workers: those are started before the command line is parsed. */
const CODEC_COMMANDS = new Set([
  "extract",
  "cat",
  "cache",
  "chop",
  "make",
  "verify",
  "verify-index",
  "chunk",
]);

/** Commands that run codec workers only with -i (chunking an archive, or fetching one). */
const INDEX_CODEC_COMMANDS = new Set(["tar", "untar", "mtree"]);

/**
 * Whether `args` name a command that will start codec workers. A guess from the
 * raw arguments (`-i` may hide in a group such as `-ti`): a wrong one costs only time.
 */
export function startsCodecWorkers(args: readonly string[]): boolean {
  const command = args.find((arg) => !arg.startsWith("-"));
  if (command === undefined) return false;
  if (CODEC_COMMANDS.has(command)) return true;
  return INDEX_CODEC_COMMANDS.has(command) &&
    args.some((arg) => arg === "--index" || /^-[a-zA-Z]*i/.test(arg));
}

if (import.meta.main) {
  if (startsCodecWorkers(Deno.args)) prewarmCodecPool();
  Deno.exit(await run(Deno.args));
}
