import type { Command } from "./args/mod.ts";
import { DesyncError } from "../errors.ts";
import { prune } from "../ops/prune.ts";
import { openPruneStore } from "../store/location.ts";
import {
  addCacheRepairOption,
  addConcurrencyOption,
  digestsOf,
  loadIndex,
  storeContext,
  withRuntime,
} from "./common.ts";
import { verbose } from "./log.ts";
import { document } from "./help.ts";
import { writeLines } from "./output.ts";

/** Asks on stderr and reads one line of stdin; anything but y/yes declines. */
async function askYesNo(question: string, signal: AbortSignal): Promise<boolean> {
  await Deno.stderr.write(new TextEncoder().encode(`${question} [y/N] `));
  const reader = Deno.stdin.readable.getReader();
  const decoder = new TextDecoder();
  let answer = "";
  // Ctrl-C at the prompt: stop waiting for the answer.
  const onAbort = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    while (!answer.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      answer += decoder.decode(value);
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
  // No answer ended the line (end of input, a signal): what follows starts a line of its own.
  if (!answer.includes("\n")) await Deno.stderr.write(new TextEncoder().encode("\n"));
  // Interrupted, not declined: the signal's exit code, not "cancelled".
  signal.throwIfAborted();
  return /^\s*y(es)?\s*$/i.test(answer.split("\n")[0]);
}

export function registerPrune(program: Command) {
  const command = program.command("prune")
    .description("remove chunks from a store that none of the given indexes use")
    .argument("<index...>", "indexes whose chunks must stay (files, URLs, or - for stdin)")
    .requiredOption("-s, --store <location>", "store directory, s3+http(s):// or sftp://")
    .option("-y, --yes", "do not ask for confirmation", false)
    .option("--dry-run", "only list the chunks that would be removed", false);
  addConcurrencyOption(command, "chunks removed at once");
  addCacheRepairOption(command);
  document(command, {
    examples: [
      ["keep only what the current images use", "desync prune -s /srv/store --yes current/*.caibx"],
      [
        "list what would go, remove nothing",
        "desync prune -s /srv/store --dry-run current/*.caibx",
      ],
    ],
  });
  command
    .action(async (indexPaths: string[], opts, command: Command) => {
      const indexes = await Promise.all(indexPaths.map((path) => loadIndex(path, command)));
      let declined = false;
      const stats = await withRuntime(async ({ codec, signal }) => {
        const store = await openPruneStore(
          opts.store,
          await storeContext(command, codec, digestsOf(indexes)),
        );
        try {
          return await prune({
            store,
            indexes,
            dryRun: opts.dryRun,
            concurrency: opts.concurrency,
            signal,
            confirm: opts.yes ? undefined : async (count) => {
              const question = `Remove ${count} unreferenced chunks from store ${opts.store}?`;
              declined = !(await askYesNo(question, signal));
              return !declined;
            },
          });
        } finally {
          await store.close();
        }
      });
      if (opts.dryRun) {
        await writeLines(stats.unreferenced);
        return;
      }
      // Not when every unreferenced chunk was spared (used since prune began).
      if (declined) {
        throw new DesyncError(`prune of store ${opts.store} cancelled; nothing was removed`);
      }
      verbose(`store ${opts.store}: removed ${stats.removed} chunks, kept ${stats.kept}`);
    });
}
