import type { Command } from "commander";
import { document } from "./help.ts";
import { formatConfig } from "../config.ts";
import { print } from "./common.ts";
import { loadConfig } from "./store_config.ts";

export function registerConfig(program: Command) {
  document(program.command("config"), {
    local: true,
    examples: [
      ["show the configuration in effect", "desync config"],
      ["show another file's", "desync --config ./ci-config.json config"],
    ],
  })
    .description("print the configuration in effect (the config file, with defaults filled in)")
    .action(async (_opts, command: Command) => {
      print(formatConfig(await loadConfig(command)));
    });
}
