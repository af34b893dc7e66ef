import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  forEachLimited,
  sleep as abortableSleep,
  TaskGroup,
  untilAborted,
} from "../../src/util/tasks.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("forEachLimited never runs more than the limit at once and runs everything", async () => {
  let running = 0;
  let peak = 0;
  const done: number[] = [];
  await forEachLimited(Array.from({ length: 20 }, (_, i) => i), 3, async (i) => {
    running++;
    peak = Math.max(peak, running);
    await sleep(i % 3);
    running--;
    done.push(i);
  });
  assertEquals(peak, 3);
  assertEquals(done.sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
});

Deno.test("the first failure aborts the group's signal and is rethrown", async () => {
  const signals: AbortSignal[] = [];
  const error = await assertRejects(
    () =>
      forEachLimited([1, 2, 3, 4, 5, 6], 2, async (i, signal) => {
        signals.push(signal);
        await sleep(1);
        if (i === 2) throw new RangeError("boom");
      }),
    RangeError,
    "boom",
  );
  assert(error);
  assert(signals.every((signal) => signal.aborted));
  assert(signals.length < 6, "no new work starts after a failure");
});

Deno.test("a parent signal's abort reaches the tasks", async () => {
  const controller = new AbortController();
  const group = new TaskGroup(2, controller.signal);
  let seen = false;
  await group.spawn(async (signal) => {
    await sleep(5);
    seen = signal.aborted;
  });
  controller.abort(new Error("stop"));
  await assertRejects(() => group.wait(), Error, "stop");
  assert(seen);
});

Deno.test("TaskGroup rejects a limit below one", () => {
  let threw = false;
  try {
    new TaskGroup(0);
  } catch (error) {
    threw = error instanceof RangeError;
  }
  assert(threw);
});

Deno.test("sleep and untilAborted end as soon as the signal aborts", async () => {
  const controller = new AbortController();
  const started = performance.now();
  setTimeout(() => controller.abort(new Error("stop")), 20);
  await assertRejects(() => abortableSleep(10_000, controller.signal), Error, "stop");
  await assertRejects(() => untilAborted(new Promise(() => {}), controller.signal), Error, "stop");
  assert(performance.now() - started < 2000, "neither waited");
  assertEquals(await untilAborted(Promise.resolve(7), new AbortController().signal), 7);
});

Deno.test("sleep: a wait longer than a timer takes is cut to the longest, not fired at once", async () => {
  const stop = new AbortController();
  let settled = false;
  // Retry k waits k × -b: a large -b passes 2^31 - 1 ms, which a timer fires after 1 ms.
  const waiting = abortableSleep(2 ** 33, stop.signal).then(() => settled = true, () => {});
  await sleep(30);
  assertEquals(settled, false, "still waiting after 30 ms");
  stop.abort();
  await waiting;
});
