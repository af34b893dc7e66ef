import type { Command } from "commander";
import { DesyncError } from "../errors.ts";
import type { Digest } from "../format/index.ts";
import { verifyStore } from "../ops/verify.ts";
import { openPruneStore } from "../store/location.ts";
import {
  DEFAULT_CONCURRENCY,
  parseConcurrency,
  parseDigest,
  print,
  storeContext,
  withRuntime,
} from "./common.ts";

export function registerVerify(program: Command) {
  program.command("verify")
    .description("check every chunk of a store; report (and with -r remove) bad ones")
    .requiredOption("-s, --store <location>", "store directory, s3+http(s):// or sftp://")
    .option("-r, --repair", "remove invalid chunks", false)
    .option(
      "-n, --concurrency <n>",
      "chunks checked at once",
      parseConcurrency,
      DEFAULT_CONCURRENCY,
    )
    .option(
      "--digest <name>",
      "only accept this digest (default: sha512-256 or sha256)",
      parseDigest,
    )
    .action(async (opts, command: Command) => {
      const digests: Digest[] = opts.digest ? [opts.digest] : ["sha512-256", "sha256"];
      const stats = await withRuntime(async ({ codec, signal }) => {
        const store = await openPruneStore(
          opts.store,
          await storeContext(command, codec, digests),
        );
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
