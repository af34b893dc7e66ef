import type { Command } from "commander";
import { DesyncError } from "../errors.ts";
import type { Digest } from "../format/index.ts";
import { verifyStore } from "../ops/verify.ts";
import { openLocalStore } from "../store/location.ts";
import {
  DEFAULT_CONCURRENCY,
  parseConcurrency,
  parseDigest,
  print,
  withRuntime,
} from "./common.ts";

export function registerVerify(program: Command) {
  program.command("verify")
    .description("check every chunk of a local store; report (and with -r remove) bad ones")
    .requiredOption("-s, --store <dir>", "local store directory")
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
    .action(async (opts) => {
      const digests: Digest[] = opts.digest ? [opts.digest] : ["sha512-256", "sha256"];
      const stats = await withRuntime(async ({ codec, signal }) => {
        const store = await openLocalStore(opts.store, { codec, digests });
        return await verifyStore({
          store,
          codec,
          repair: opts.repair,
          concurrency: opts.concurrency,
          signal,
          onInvalid: (error) => print(error.message),
        });
      });
      if (stats.invalid.length > 0) {
        const action = opts.repair ? `, ${stats.removed} removed` : "";
        throw new DesyncError(
          `store ${opts.store}: ${stats.invalid.length} of ${stats.checked} chunks invalid${action}`,
        );
      }
    });
}
