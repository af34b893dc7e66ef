import type { Command } from "commander";
import { CodecPool } from "../chunk/codec_pool.ts";
import { addStoreOptions, parseConcurrency, parseDigest, storeContext } from "./common.ts";
import { addServerOptions, announce, serverSettings } from "./server_options.ts";

export function registerChunkServer(program: Command) {
  addServerOptions(
    addStoreOptions(
      program.command("chunk-server")
        .description("serve a store chain over HTTP(S): a chunk store, or a caching proxy with -c"),
    ),
  )
    .option("-u, --uncompressed", "serve and accept plain chunks at /<4 hex>/<id>", false)
    .option("-n, --concurrency <n>", "sessions to SSH stores upstream", parseConcurrency, 10)
    .option("--digest <digest>", "the digest PUT chunks must match (default: either)", parseDigest)
    .action(async (opts, command: Command) => {
      // Loaded here so other commands do not pay for the server's modules at start-up.
      const { parseListenAddress } = await import("../server/http_server.ts");
      const { startChunkServer } = await import("../server/chunk_server.ts");
      const { serveUntilStopped } = await import("../server/shutdown.ts");
      const settings = await serverSettings(opts, parseListenAddress);
      const digests = opts.digest ? [opts.digest] : ["sha512-256", "sha256"] as const;
      const codec = new CodecPool();
      try {
        const context = await storeContext(command, codec, digests);
        const server = await startChunkServer({
          ...settings,
          stores: opts.store,
          cache: opts.cache,
          writable: opts.writable,
          uncompressed: opts.uncompressed,
        }, { ...context, digests });
        await serveUntilStopped(() => announce("chunk-server", server.urls), () => server.close());
      } finally {
        codec.close();
      }
    });
}
