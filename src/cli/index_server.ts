import { type Command, Option } from "./args/mod.ts";
import { document } from "./help.ts";
import { httpOptionsOf, optionalEnv, parseConcurrency } from "./common.ts";
import { addServerOptions, announce, serverSettings } from "./server_options.ts";

export function registerIndexServer(program: Command) {
  addServerOptions(
    document(program.command("index-server"), {
      examples: [
        ["serve the indexes of a directory", "desync index-server -s /srv/indexes -l :8080"],
        [
          "accept index uploads with a password",
          "desync index-server -w -s /srv/indexes --authorization 'Bearer s3cret' -l :8080",
        ],
      ],
    })
      .description("serve index files (.caibx, .caidx) from a directory or HTTP location")
      .requiredOption(
        "-s, --store <location>",
        "directory, http(s):// or ssh:// URL of the indexes",
      )
      // Go desync's index-server takes -n; one index at a time needs no limit here.
      .addOption(new Option("-n, --concurrency <n>").argParser(parseConcurrency).hideHelp()),
  )
    .action(async (opts, command: Command) => {
      const { parseListenAddress } = await import("../server/http_server.ts");
      const { startIndexServer } = await import("../server/index_server.ts");
      const { serveUntilStopped } = await import("../server/shutdown.ts");
      const settings = await serverSettings(opts, parseListenAddress);
      const server = await startIndexServer({
        ...settings,
        store: opts.store,
        http: await httpOptionsOf(command),
        ssh: {
          // Set but empty counts as unset, as in Go desync.
          sshPath: optionalEnv("CASYNC_SSH_PATH") || "ssh",
          remotePath: optionalEnv("CASYNC_REMOTE_PATH") || "casync",
        },
      });
      await serveUntilStopped(() => announce("index-server", server.urls), () => server.close());
    });
}
