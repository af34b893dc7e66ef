import type { Command } from "commander";
import { formatConfig } from "../config.ts";
import { print } from "./common.ts";
import { loadConfig } from "./store_config.ts";

export function registerConfig(program: Command) {
  program.command("config")
    .description("print the configuration in effect (the config file, with defaults filled in)")
    .action(async (_opts, command: Command) => {
      print(formatConfig(await loadConfig(command)));
    });
}
