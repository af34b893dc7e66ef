/**
 * Groups remote chunks that arrive close together into one worker message:
 * chunks added in the same turn of the event loop (or 32 of them) are decoded,
 * verified and written by one `placeFrames` job. Each `add` resolves with its
 * own chunk's outcome.
 */
import type { CodecPool, FrameItem, PlaceOutcome } from "../chunk/codec_pool.ts";
import type { Digest } from "../format/index.ts";

const MOST = 32;

interface Waiting {
  item: FrameItem;
  owned: boolean;
  resolve(outcome: PlaceOutcome): void;
  reject(error: unknown): void;
}

export class FrameBatcher {
  #waiting: Waiting[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly codec: CodecPool,
    readonly digests: readonly Digest[],
    readonly output: string,
  ) {}

  add(item: FrameItem, owned: boolean): Promise<PlaceOutcome> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ item, owned, resolve, reject });
      if (this.#waiting.length >= MOST) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), 0);
    });
  }

  #flush() {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#waiting;
    this.#waiting = [];
    if (batch.length === 0) return;
    this.codec.placeFrames(
      batch.map((waiting) => waiting.item),
      batch.map((waiting) => waiting.owned),
      this.digests,
      this.output,
    ).then(
      (outcomes) => outcomes.forEach((outcome, i) => batch[i].resolve(outcome)),
      (error) => batch.forEach((waiting) => waiting.reject(error)),
    );
  }
}
