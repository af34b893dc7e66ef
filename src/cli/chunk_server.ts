import { type Command, Option } from "./args/mod.ts";
import { document } from "./help.ts";
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
    // Go desync's switches for verifying chunks, both on by default there. Written chunks are
    // always verified here.
    .addOption(
      new Option(
        "--skip-verify-read",
        "send the files of a local cache (-c) or local stores (-s) as stored, as Go desync " +
          "does (the client verifies them); --skip-verify-read=false decodes and hash-checks " +
          "them before they are sent (costs CPU): an invalid cached chunk is then repaired " +
          "from the stores (-r), an invalid store chunk answers an error. Remote stores' " +
          "chunks are always verified",
      ).default(true),
    )
    .addOption(new Option("--no-skip-verify-read").hideHelp())
    .addOption(
      new Option(
        "--skip-verify-write",
        "accepted as in Go desync: written chunks are verified " +
          "all the same",
      ).default(true),
    )
    .addOption(new Option("--no-skip-verify-write").hideHelp())
    .action(async (opts, command: Command) => {
      // Loaded here so other commands do not pay for the server's modules at start-up.
      const { parseListenAddress } = await import("../server/http_server.ts");
      const { startServerThreads, threadContext } = await import("../server/threads.ts");
      const { serveUntilStopped } = await import("../server/shutdown.ts");
      const { lazyCodecPool } = await import("../server/lazy_codec.ts");
      const settings = await serverSettings(opts, parseListenAddress);
      // PUT chunks must match --digest when it is given, else either digest.
      const digest = explicitDigest(command);
      const digests = digest ? [digest] : ["sha512-256", "sha256"] as const;
      // The threads serve (each with its own codec worker, started when first needed);
      // this thread opens no store and never starts its codec.
      const codec = lazyCodecPool(1);
      try {
        const { codec: _, ...context } = await storeContext(command, codec.codec, digests);
        const threads = opts.threads ?? Math.min(navigator.hardwareConcurrency || 1, 8);
        const options = {
          ...settings,
          stores: opts.store,
          cache: opts.cache,
          cacheRepair: opts.cacheRepair,
          verifyRead: !opts.skipVerifyRead,
          uncompressed: opts.uncompressed,
        };
        const locations = [...opts.store, ...(opts.cache === undefined ? [] : [opts.cache])];
        const forThreads = await threadContext({ ...context, digests }, locations);
        const server = await startServerThreads(options, forThreads, threads);
        await serveUntilStopped(() => announce("chunk-server", server.urls), () => server.close());
      } finally {
        codec.close();
      }
    });
}
