/**
 * A codec lane on the calling thread. For a command whose main thread mostly
 * waits on the workers (extract from a local store, say), running one lane
 * there instead of in one more worker saves that worker's start-up (an isolate
 * and the Node compatibility layer: tens of milliseconds of CPU) and its
 * memory. Jobs run one at a time, each in a task of its own, so replies from
 * the workers, timers and signals are handled between them. Requests and
 * replies are cloned as postMessage clones them: transferred buffers are
 * detached, the rest copied, exactly as with a worker.
 */
import type { CodecReply, CodecRequest } from "./codec_pool.ts";

export class InlineLane {
  #queue: Promise<void> = Promise.resolve();
  #jobs?: Promise<Pick<typeof import("./codec_jobs.ts"), "respond">>;
  #closed = false;
  /** Ends a running job that waits on the network (fetch-place) when the pool closes. */
  readonly #stopped = new AbortController();
  /** A message to oneself: the next task, without setTimeout's clamping. */
  readonly #tick = new MessageChannel();
  readonly #waiting: (() => void)[] = [];
  /**
   * Loads the jobs' module (with the hash and Node's compatibility layer, tens
   * of milliseconds) when the first job comes, not when the lane is made: the
   * pool is made first thing, and until this thread has handed out work the
   * workers would wait for it.
   */
  readonly #load: () => Promise<Pick<typeof import("./codec_jobs.ts"), "respond">>;

  /** `load` gives the jobs' module (tests give one that fails). */
  constructor(
    readonly onReply: (reply: CodecReply) => void,
    load: () => Promise<Pick<typeof import("./codec_jobs.ts"), "respond">> = () =>
      import("./codec_jobs.ts"),
  ) {
    this.#load = load;
    this.#tick.port1.onmessage = () => this.#waiting.shift()?.();
  }

  postMessage(request: CodecRequest, transfer: ArrayBuffer[] = []): void {
    if (this.#closed) return;
    const job = structuredClone(request, { transfer });
    this.#queue = this.#queue.then(async () => {
      await this.#nextTask();
      if (this.#closed) return;
      if (job.op === "close-files" && this.#jobs === undefined) {
        // No job ran here, so no file is open: not worth loading the jobs to close none.
        this.onReply({ seq: job.seq, ok: true });
        return;
      }
      let respond;
      try {
        ({ respond } = await (this.#jobs ??= this.#load()));
      } catch (error) {
        // As a worker that cannot load fails its jobs, not the process.
        const message = `the codec cannot load: ${(error as Error).message}`;
        if (!this.#closed) this.onReply({ seq: job.seq, ok: false, kind: "other", message });
        return;
      }
      // Closed while the jobs loaded (the first job waits tens of milliseconds for them).
      if (this.#closed) return;
      const { reply, transfer } = await respond(job, this.#stopped.signal);
      if (this.#closed) return;
      let copy: CodecReply;
      try {
        copy = structuredClone(reply, { transfer });
      } catch (error) {
        const message = `cannot send the reply: ${(error as Error).message}`;
        copy = { seq: reply.seq, ok: false, kind: "other", message };
      }
      this.onReply(copy);
    });
  }

  #nextTask(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#tick.port2.postMessage(null);
    });
  }

  /**
   * Runs no further job; the one running (if any) finishes, its reply unsent
   * (one waiting on the network stops asking and ends).
   * Then the files the jobs opened are closed, as a worker's are when it ends:
   * they belong to this thread, and a later pool here would otherwise reuse a
   * handle to a file since replaced (and read its old content).
   */
  terminate(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopped.abort(new Error("codec pool closed"));
    this.#tick.port1.close();
    this.#tick.port2.close();
    for (const resolve of this.#waiting.splice(0)) resolve();
    this.#queue = this.#queue.then(async () => {
      if (this.#jobs === undefined) return;
      const { respond } = await this.#jobs;
      await respond({ seq: 0, op: "close-files" });
    }).catch(() => {
      // Nothing was loaded, so nothing is open.
    });
  }
}
