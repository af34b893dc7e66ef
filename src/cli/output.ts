/** Writing command output: lines to stdout in blocks, and guarding what must not be overwritten. */
import { UsageError } from "../errors.ts";
import { fileIdentity } from "../ops/seeds.ts";
import { stdout, writeAll } from "../util/fs.ts";

/**
 * Runs `write`, which writes to stdout: a reader that went away (`desync … | head`)
 * ends the job quietly and successfully, as it ends cat(1).
 */
export async function quietWhenReaderLeaves(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

/**
 * Writes many lines to stdout in large blocks rather than one write per line;
 * a reader that went away ends the listing quietly (see quietWhenReaderLeaves).
 */
export function writeLines(lines: Iterable<string>): Promise<void> {
  return quietWhenReaderLeaves(() => writeBlocks(lines));
}

async function writeBlocks(lines: Iterable<string>): Promise<void> {
  const encoder = new TextEncoder();
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const bytes = encoder.encode(batch.join("\n") + "\n");
    batch = [];
    await writeAll(stdout, bytes);
  };
  for (const line of lines) {
    batch.push(line);
    if (batch.length >= 4096) await flush();
  }
  await flush();
}

/** An output that is the index being read (also through a link) is a usage error. */
export async function refuseOverwritingIndex(indexPath: string, output: string): Promise<void> {
  if (indexPath === "-" || /^[a-z][a-z0-9+.-]*:\/\//i.test(indexPath)) return;
  const identity = await fileIdentity(indexPath);
  if (identity !== undefined && identity === await fileIdentity(output)) {
    throw new UsageError(`${output}: the output would overwrite the index`);
  }
}
