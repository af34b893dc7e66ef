import type { Command } from "./args/mod.ts";
import { document } from "./help.ts";
import { formatConfig } from "../config.ts";
import { UsageError } from "../errors.ts";
import { writeAtomically } from "../util/fs.ts";
import { print } from "./common.ts";
import { configPath, loadConfig } from "./store_config.ts";

/**
 * `config -w`: the configuration in effect written back to its file, as Go
 * desync does (directories made, a new file readable by its owner only, for it
 * may hold S3 keys; the JSON without a final newline).
 */
async function writeConfig(path: string, text: string) {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  if (dir) await Deno.mkdir(dir, { recursive: true });
  const isNew = await Deno.lstat(path).then(() => false, () => true);
  await writeAtomically(path, async (file, temp) => {
    if (isNew) await Deno.chmod(temp, 0o600);
    await file.write(new TextEncoder().encode(text));
  });
}

export function registerConfig(program: Command) {
  document(program.command("config"), {
    local: true,
    examples: [
      ["show the configuration in effect", "desync config"],
      ["show another file's", "desync --config ./ci-config.json config"],
      ["write the defaults into the config file", "desync config -w"],
    ],
  })
    .description("print the configuration in effect (the config file, with defaults filled in)")
    .option("-w, --write", "write it to the config file instead (--config, or the default)", false)
    .action(async (opts, command: Command) => {
      const text = formatConfig(await loadConfig(command));
      if (!opts.write) {
        print(text);
        return;
      }
      const { path } = configPath(command);
      if (path === undefined) throw new UsageError("config -w: no HOME to find the config file in");
      console.error(`Writing config to ${path}`);
      await writeConfig(path, text);
    });
}
