/**
 * A lane job of untar's: small files of a tree the command made itself, each
 * created, written and given its time through its own descriptor. Opening a
 * path costs Deno a permission check that resolves it component by component
 * (a readlink each); made here, that cost is spread over the lanes instead of
 * falling on the main thread, which decodes the archive.
 */
import { describeFsError } from "../util/fs.ts";

export interface TreeFilesJob {
  /** Where each file goes; none may exist yet. */
  paths: readonly string[];
  /** Each file's permission bits, given to open(2) (so the umask applies, as for any file made). */
  modes: Uint16Array;
  /** Each file's modification time in milliseconds since the epoch; NaN where none is set. */
  mtimesMs: Float64Array;
  /** Where each file's bytes end in `data` (each starts where the one before ends). */
  ends: Float64Array;
  /** The files' bytes; its whole buffer moves to the lane and is sent back. */
  data: Uint8Array;
}

/** The file of a batch that could not be made, and what failed: none after it was tried. */
export interface TreeFileFailure {
  index: number;
  operation: "create" | "write" | "set the time";
  reason: string;
}

/** Makes the batch's files in order; stops at the first that fails, or when `stopped`. */
export function writeTreeFiles(
  job: TreeFilesJob,
  stopped: () => boolean,
): TreeFileFailure | undefined {
  const { paths, modes, mtimesMs, ends, data } = job;
  // What a file just made would have had for an access time anyway.
  const atime = new Date();
  let start = 0;
  for (let index = 0; index < paths.length; index++) {
    if (stopped()) throw new Error("stopped");
    let operation: TreeFileFailure["operation"] = "create";
    let file: Deno.FsFile | undefined;
    try {
      file = Deno.openSync(paths[index], { write: true, createNew: true, mode: modes[index] });
      operation = "write";
      for (let done = start; done < ends[index];) {
        done += file.writeSync(data.subarray(done, ends[index]));
      }
      if (!Number.isNaN(mtimesMs[index])) {
        operation = "set the time";
        file.utimeSync(atime, new Date(mtimesMs[index]));
      }
    } catch (error) {
      return { index, operation, reason: describeFsError(error) };
    } finally {
      file?.close();
    }
    start = ends[index];
  }
  return undefined;
}
