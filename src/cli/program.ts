/**
 * The command line: builds the command tree and maps errors to one line on
 * stderr and an exit code.
 */
import { Command, CommanderError } from "commander";
import denoConfig from "../../deno.json" with { type: "json" };
import { registerCache } from "./cache.ts";
import { registerChop } from "./chop.ts";
import { registerExtract } from "./extract.ts";
import { registerListChunks } from "./list_chunks.ts";
import { registerMake } from "./make.ts";
import { registerChunk } from "./chunk.ts";
import { registerInfo } from "./info.ts";
import { registerVerifyIndex } from "./verify_index.ts";
import { registerCat } from "./cat.ts";
import { registerPrune } from "./prune.ts";
import { registerVerify } from "./verify.ts";
import { registerTar } from "./tar.ts";
import { registerUntar } from "./untar.ts";
import { registerMtree } from "./mtree.ts";
import { registerChunkServer } from "./chunk_server.ts";
import { registerIndexServer } from "./index_server.ts";
import { registerPull } from "./pull.ts";
import { registerConfig } from "./config.ts";
import { addConfigOptions } from "./store_config.ts";
import { registerInspectChunks } from "./inspect_chunks.ts";
import { registerCompletion } from "./completions.ts";
import { registerManpage } from "./manpage.ts";
import { DesyncError } from "../errors.ts";
import {
  addGlobalOptions,
  addRemoteOptions,
  applyGlobalSettings,
  checkStoreOptions,
} from "./common.ts";
import { configureHelp, document } from "./help.ts";
import { normalizeBoolFlags } from "./go_args.ts";

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
