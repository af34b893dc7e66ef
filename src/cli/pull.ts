import type { Command } from "commander";
import { document } from "./help.ts";
import { CodecPool } from "../chunk/codec_pool.ts";
import { storeContext } from "./common.ts";

export function registerPull(program: Command) {
  document(program.command("pull"), {
    local: true,
    examples: [
      [
        "let SSH clients read /srv/store through this tool",
        "CASYNC_REMOTE_PATH=desync desync extract -s ssh://host/srv/store x.caibx x",
      ],
      ["what the client runs on the server", "desync pull - - - /srv/store"],
    ],
  })
    .description(
      "serve stores (and an index) over casync's protocol on stdin/stdout, for SSH clients " +
        "(CASYNC_REMOTE_PATH=desync)",
    )
    .argument("<args...>", "BASE ARCHIVE INDEX WSTORE [STORE…] as casync takes them, - for none")
    .action(async (args: string[], _opts, command: Command) => {
      const { parsePullArgs, runPull } = await import("../server/pull.ts");
      const parsed = parsePullArgs(args);
      const codec = new CodecPool(1);
      try {
        const context = await storeContext(command, codec, ["sha512-256", "sha256"]);
        await runPull(parsed, context, {
          input: Deno.stdin.readable,
          output: Deno.stdout.writable,
        });
      } finally {
        codec.close();
      }
    });
}
