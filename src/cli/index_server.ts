import type { Command } from "commander";
import { httpOptionsOf, optionalEnv } from "./common.ts";
import { addServerOptions, announce, serverSettings } from "./server_options.ts";

export function registerIndexServer(program: Command) {
  addServerOptions(
    program.command("index-server")
      .description("serve index files (.caibx, .caidx) from a directory or HTTP location")
      .requiredOption(
        "-s, --store <location>",
        "directory, http(s):// or ssh:// URL of the indexes",
      ),
  )
    .action(async (opts, command: Command) => {
      const { parseListenAddress } = await import("../server/http_server.ts");
      const { startIndexServer } = await import("../server/index_server.ts");
      const { serveUntilStopped } = await import("../server/shutdown.ts");
      const settings = await serverSettings(opts, parseListenAddress);
      const server = await startIndexServer({
        ...settings,
        store: opts.store,
        writable: opts.writable,
        http: await httpOptionsOf(command),
        ssh: {
          sshPath: optionalEnv("CASYNC_SSH_PATH") ?? "ssh",
          remotePath: optionalEnv("CASYNC_REMOTE_PATH") ?? "casync",
        },
      });
      await serveUntilStopped(() => announce("index-server", server.urls), () => server.close());
    });
}
