/**
 * Starting the codec workers before anything else loads: a worker takes tens of
 * milliseconds to start, and the rest of the program can load meanwhile.
 * Imports nothing but the pool, so the entry point can run it first.
 */
import { CodecPool } from "../chunk/codec_pool.ts";

/** Commands that run codec workers: those are started before the command line is parsed. */
const CODEC_COMMANDS = new Set([
  "extract",
  "cat",
  "cache",
  "chop",
  "make",
  "verify",
  "verify-index",
  "chunk",
]);

/**
 * Commands whose main thread mostly waits on the codec lanes: one lane runs on
 * it (see chunk/inline_lane.ts), so they start one worker fewer. Each measured
 * faster or smaller so (256 MiB: extract 453 -> 433 ms, make 1.06 -> 0.93 s on
 * tmpfs, cat 1.05 -> 0.97 s, verify 98 -> 86 MiB, cache of 1 GiB from HTTP, whose lanes
 * fetch and write, 110 -> 96-99 MiB; verify-index 90-97 -> 80-83 MiB, chop 100 -> 91 MiB,
 * both with a little less CPU).
 */
const INLINE_LANE_COMMANDS = new Set([
  "extract",
  "verify",
  "cat",
  "make",
  "cache",
  "verify-index",
  "chop",
]);

/** Commands that run codec workers only with -i (chunking an archive, or fetching one). */
const INDEX_CODEC_COMMANDS = new Set(["tar", "untar", "mtree"]);

/**
 * Whether `args` name a command that will start codec workers. A guess from the
 * raw arguments (`-i` may hide in a group such as `-ti`): a wrong one costs only time.
 */
export function startsCodecWorkers(args: readonly string[]): boolean {
  const command = commandOf(args);
  if (command === undefined) return false;
  if (CODEC_COMMANDS.has(command)) return true;
  return INDEX_CODEC_COMMANDS.has(command) &&
    args.some((arg) => arg === "--index" || /^-[a-zA-Z]*i/.test(arg));
}

/** The command `args` name, as far as the raw arguments tell: the first that is not an option. */
function commandOf(args: readonly string[]): string | undefined {
  return args.find((arg) => !arg.startsWith("-"));
}

/** Codec workers started before the command line is parsed (see prewarmCodecPool). */
let prewarmed: CodecPool | undefined;

/**
 * Starts the codec workers at once when `args` name a command that will need them: they
 * load while the rest of the program loads, the command line is parsed and the
 * index is read, instead of after. When they cannot start here, the command
 * starts them again and says why.
 */
export function prewarmCodecPool(args: readonly string[]): void {
  if (!startsCodecWorkers(args)) return;
  try {
    prewarmed ??= new CodecPool(undefined, { inline: INLINE_LANE_COMMANDS.has(commandOf(args)!) });
  } catch {
    prewarmed = undefined;
  }
}

/** The prewarmed pool, once: the first command to run takes it. */
export function takePrewarmedPool(): CodecPool | undefined {
  const pool = prewarmed;
  prewarmed = undefined;
  return pool;
}
