/**
 * Bounded concurrency: at most `limit` tasks run at once; `spawn` waits for a free
 * slot. The first failure aborts the group's signal, and is rethrown by the next
 * `spawn` or by `wait`.
 */
export class TaskGroup {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();
  readonly #controller = new AbortController();
  #error: { error: unknown } | undefined;

  constructor(limit: number, parent?: AbortSignal) {
    if (!(limit >= 1)) throw new RangeError(`concurrency must be at least 1, got ${limit}`);
    this.#limit = limit;
    if (parent) {
      if (parent.aborted) this.#fail(parent.reason);
      else parent.addEventListener("abort", () => this.#fail(parent.reason), { once: true });
    }
  }

  /** Aborted when any task fails or the parent signal aborts. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  async spawn(task: (signal: AbortSignal) => Promise<void>): Promise<void> {
    while (this.#running.size >= this.#limit && !this.#error) {
      await Promise.race(this.#running);
    }
    if (this.#error) {
      await this.#drain();
      throw this.#error.error;
    }
    const promise: Promise<void> = task(this.signal)
      .catch((error) => this.#fail(error))
      .finally(() => this.#running.delete(promise));
    this.#running.add(promise);
  }

  /** Waits for every task; rethrows the first failure. */
  async wait(): Promise<void> {
    await this.#drain();
    if (this.#error) throw this.#error.error;
  }

  async #drain() {
    while (this.#running.size > 0) await Promise.race(this.#running);
  }

  #fail(error: unknown) {
    if (this.#error) return;
    this.#error = { error };
    this.#controller.abort(error);
  }
}

/** Runs `work` for every item with at most `limit` at once. */
export async function forEachLimited<T>(
  items: Iterable<T> | AsyncIterable<T>,
  limit: number,
  work: (item: T, signal: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const group = new TaskGroup(limit, signal);
  for await (const item of items) {
    await group.spawn((groupSignal) => work(item, groupSignal));
  }
  await group.wait();
}

/**
 * The longest wait a timer takes (2^31 - 1 ms, about 24.8 days): Deno, as
 * Node, fires a longer one after 1 ms. A longer timeout means "no limit" in
 * practice, so it is cut to this rather than refused.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Waits `ms` (at most MAX_TIMER_MS); an abort of `signal` ends the wait at once with its reason. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.min(ms, MAX_TIMER_MS));
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** `promise`, or the signal's reason as soon as it aborts (the work itself is not stopped). */
export function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
