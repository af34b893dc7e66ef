import type { Command } from "commander";
import { document } from "./help.ts";
import { CodecPool } from "../chunk/codec_pool.ts";
import { addStoreOptions, explicitDigest, parseConcurrency, storeContext } from "./common.ts";
import { addServerOptions, announce, serverSettings } from "./server_options.ts";

export function registerChunkServer(program: Command) {
  addServerOptions(
    addStoreOptions(
      document(program.command("chunk-server"), {
        stores: true,
        examples: [
          ["serve a local store on port 8080", "desync chunk-server -s /srv/store -l :8080"],
          [
            "a caching proxy in front of a remote store",
            "desync chunk-server -s http://origin/store -c /var/cache/desync -l :8080",
          ],
          [
            "accept uploads over TLS",
            "desync chunk-server -w -s /srv/store --cert cert.pem --key key.pem -l :8443",
          ],
        ],
      })
        .description("serve a store chain over HTTP(S): a chunk store, or a caching proxy with -c"),
    ),
  )
    .option("-u, --uncompressed", "serve and accept plain chunks at /<4 hex>/<id>", false)
    .option("-n, --concurrency <n>", "sessions to SSH stores upstream", parseConcurrency, 10)
    .option(
      "--threads <n>",
      "threads serving requests on the same port (default: one per core)",
      parseConcurrency,
    )
    .action(async (opts, command: Command) => {
      // Loaded here so other commands do not pay for the server's modules at start-up.
      const { parseListenAddress } = await import("../server/http_server.ts");
      const { startChunkServer } = await import("../server/chunk_server.ts");
      const { serveUntilStopped } = await import("../server/shutdown.ts");
      const settings = await serverSettings(opts, parseListenAddress);
      // PUT chunks must match --digest when it is given, else either digest.
      const digest = explicitDigest(command);
      const digests = digest ? [digest] : ["sha512-256", "sha256"] as const;
      // Chunks are decoded only when fetched upstream or PUT: one codec worker per thread.
      const codec = new CodecPool(1);
      try {
        const context = await storeContext(command, codec, digests);
        const threads = opts.threads ?? Math.min(navigator.hardwareConcurrency || 1, 8);
        const options = {
          ...settings,
          stores: opts.store,
          cache: opts.cache,
          writable: opts.writable,
          uncompressed: opts.uncompressed,
          reusePort: threads > 1,
        };
        let server = await startChunkServer(options, { ...context, digests });
        if (threads > 1) {
          const { addServerThreads, threadContext } = await import("../server/threads.ts");
          const { codec: _, ...shared } = context;
          const locations = [...opts.store, ...(opts.cache === undefined ? [] : [opts.cache])];
          const forThreads = await threadContext({ ...shared, digests }, locations);
          const single = server;
          server = await addServerThreads(single, options, forThreads, threads)
            .catch(async (error) => {
              await single.close();
              throw error;
            });
        }
        await serveUntilStopped(() => announce("chunk-server", server.urls), () => server.close());
      } finally {
        codec.close();
      }
    });
}
