/** A counting semaphore: at most `limit` holders at once; waiters are served in order. */
export class Semaphore {
  #free: number;
  readonly #waiting: { grant: () => void; signal?: AbortSignal }[] = [];

  constructor(limit: number) {
    if (!(limit >= 1)) throw new RangeError(`a semaphore needs a limit of 1 or more, got ${limit}`);
    this.#free = limit;
  }

  /** Waits for a free slot; rejects with the signal's reason when it aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        signal,
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const at = this.#waiting.indexOf(waiter);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next.grant();
    else this.#free++;
  }
}
