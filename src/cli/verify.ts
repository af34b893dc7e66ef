import type { Command } from "./args/mod.ts";
import { DesyncError } from "../errors.ts";
import type { Digest } from "../format/index.ts";
import { verifyStore } from "../ops/verify.ts";
import { openPruneStore } from "../store/location.ts";
import {
  addConcurrencyOption,
  explicitDigest,
  print,
  storeContext,
  withRuntime,
} from "./common.ts";
import { document } from "./help.ts";

export function registerVerify(program: Command) {
  const command = program.command("verify")
    .description(
      "check every chunk of a store; print the invalid ones and exit 1 (-r removes them)",
    )
    .requiredOption("-s, --store <location>", "store directory, s3+http(s):// or sftp://")
    .option("-r, --repair", "remove invalid chunks", false);
  addConcurrencyOption(command, "chunks checked at once");
  document(command, {
    local: true,
    digest: true,
    examples: [
      ["check a store; bad chunks are listed on stdout", "desync verify -s /srv/store"],
      ["remove the bad chunks of a cache", "desync verify -r -s ~/.cache/desync"],
      ["accept only SHA-256 chunk IDs", "desync --digest sha256 verify -s /srv/store"],
    ],
  });
  command
    .action(async (opts, command: Command) => {
      // Without an explicit --digest, a chunk may hash to its name either way.
      const digest = explicitDigest(command);
      const digests: Digest[] = digest ? [digest] : ["sha512-256", "sha256"];
      const stats = await withRuntime(async ({ codec, signal }) => {
        const store = await openPruneStore(opts.store, await storeContext(command, codec, digests));
        try {
          return await verifyStore({
            store,
            codec,
            repair: opts.repair,
            concurrency: opts.concurrency,
            signal,
            onInvalid: (error) => print(error.message),
          });
        } finally {
          await store.close();
        }
      });
      if (stats.invalid.length > 0) {
        const action = opts.repair ? `, ${stats.removed} removed` : "";
        throw new DesyncError(
          `store ${opts.store}: ${stats.invalid.length} of ${stats.checked} chunks invalid${action}`,
        );
      }
    });
}
