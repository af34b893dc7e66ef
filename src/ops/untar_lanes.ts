/**
 * untar's small files, made by the codec lanes in batches (see
 * chunk/tree_files.ts) while the main thread goes on decoding: in a tree of
 * 20 000 small files, opening each one (a Deno permission check that resolves
 * the path component by component) and writing it took most of the main
 * thread's time, with the lanes half idle.
 *
 * What must come after files (a directory's mode and time, set at its end) is
 * run once the batch holding the last of them, and every batch before it, has
 * been made.
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { DesyncError } from "../errors.ts";

/** The files and bytes of one batch; a file larger than BATCH_BYTES is never given to lanes. */
const BATCH_FILES = 256;
const BATCH_BYTES = 2 << 20;
/** Batches handed out at once per lane, before the caller makes files itself. */
const BATCHES_PER_LANE = 2;

/** Files up to this size may be made by the lanes; larger ones are streamed by the caller. */
export const LANE_FILE_MAX = 1 << 20;

interface Batch {
  paths: string[];
  shown: string[];
  modes: number[];
  mtimesMs: number[];
  ends: number[];
  buffer: Uint8Array;
  bytes: number;
}

export class LaneFiles {
  readonly #codec: CodecPool;
  #batch: Batch | undefined;
  /** Buffers given back by the lanes, to be filled again. */
  readonly #spare: Uint8Array[] = [];
  /** Batches handed out, and those made: every batch numbered up to #madeThrough is made. */
  #handedOut = 0;
  #madeThrough = 0;
  readonly #made = new Set<number>();
  readonly #inFlight = new Set<Promise<void>>();
  /** Actions waiting, by the batch they wait for (with those before it), in order. */
  readonly #after = new Map<number, (() => void)[]>();
  #failure: unknown;

  constructor(codec: CodecPool) {
    this.#codec = codec;
  }

  /**
   * Starts a file of `size` bytes (at most LANE_FILE_MAX); its bytes follow
   * through `write`. Returns the number of the batch it is in (for `after`).
   */
  begin(path: string, shown: string, mode: number, mtimeMs: number, size: number): number {
    this.check();
    if (this.#batch && this.#batch.bytes + size > this.#batch.buffer.length) this.#handOut();
    const batch = this.#batch ??= this.#newBatch();
    batch.paths.push(path);
    batch.shown.push(shown);
    batch.modes.push(mode);
    batch.mtimesMs.push(mtimeMs);
    batch.ends.push(batch.bytes + size);
    return this.#handedOut + 1;
  }

  /** Bytes of the file begun last (copied: the caller's buffer is reused). */
  write(bytes: Uint8Array) {
    const batch = this.#batch!;
    if (batch.bytes + bytes.length > batch.ends[batch.ends.length - 1]) {
      throw new DesyncError(`${batch.shown.at(-1)}: more bytes than its size`);
    }
    batch.buffer.set(bytes, batch.bytes);
    batch.bytes += bytes.length;
  }

  /** Ends the file begun last; a full batch goes to a lane. */
  end() {
    const batch = this.#batch!;
    if (batch.bytes !== batch.ends[batch.ends.length - 1]) {
      throw new DesyncError(`${batch.shown.at(-1)}: fewer bytes than its size`);
    }
    if (batch.paths.length >= BATCH_FILES || batch.bytes >= BATCH_BYTES) this.#handOut();
  }

  /**
   * Runs `action` once the batches numbered up to `batch` are made: now if they
   * are (0: none). The batch being filled is not handed out for it: in a tree
   * of small directories that would make a message of each file.
   */
  after(batch: number, action: () => void) {
    this.check();
    if (this.#madeThrough >= batch) return action();
    const waiting = this.#after.get(batch);
    if (waiting) waiting.push(action);
    else this.#after.set(batch, [action]);
  }

  /** Throws what failed in a lane (or in an action run after one), if anything did. */
  check() {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /**
   * Whether the lanes hold as many batches as they should: the caller then
   * makes files itself rather than wait (it has nothing else to do), and
   * batches out stay bounded.
   */
  busy(): boolean {
    return this.#inFlight.size >= BATCHES_PER_LANE * this.#codec.size;
  }

  /** Hands out what is left and waits until every file is made and every action run. */
  async finish(): Promise<void> {
    if (this.#batch) this.#handOut();
    while (this.#inFlight.size > 0) await Promise.race(this.#inFlight);
    this.check();
  }

  /**
   * Waits for the lanes' batches, whatever their outcome, before what they
   * wrote is removed: those of a stopped pool too, which has failed their
   * promises already (they stop at their next file).
   */
  async settle(): Promise<void> {
    this.#failure ??= new Error("abandoned");
    await Promise.allSettled(this.#inFlight);
    await this.#codec.writesDone();
  }

  #newBatch(): Batch {
    return {
      paths: [],
      shown: [],
      modes: [],
      mtimesMs: [],
      ends: [],
      buffer: this.#spare.pop() ?? new Uint8Array(BATCH_BYTES),
      bytes: 0,
    };
  }

  #handOut() {
    const batch = this.#batch!;
    this.#batch = undefined;
    const number = ++this.#handedOut;
    const done = this.#codec.writeTreeFiles({
      paths: batch.paths,
      modes: Uint16Array.from(batch.modes),
      mtimesMs: Float64Array.from(batch.mtimesMs),
      ends: Float64Array.from(batch.ends),
      data: batch.buffer.subarray(0, batch.bytes),
    }).then(({ data, failure }) => {
      this.#spare.push(new Uint8Array(data.buffer));
      if (failure) {
        const { index, operation, reason } = failure;
        throw new DesyncError(`${batch.shown[index]}: cannot ${operation}: ${reason}`);
      }
      this.#madeBatch(number);
    }).catch((error) => {
      this.#failure ??= error;
    }).finally(() => this.#inFlight.delete(done));
    this.#inFlight.add(done);
  }

  #madeBatch(number: number) {
    this.#made.add(number);
    while (this.#made.delete(this.#madeThrough + 1)) {
      const actions = this.#after.get(++this.#madeThrough) ?? [];
      this.#after.delete(this.#madeThrough);
      for (const action of actions) {
        if (this.#failure !== undefined) return;
        try {
          action();
        } catch (error) {
          this.#failure = error;
        }
      }
    }
  }
}
