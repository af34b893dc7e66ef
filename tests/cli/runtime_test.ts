/** The codec pool starts only for a command that uses it: not for a plain catar tar, untar or mtree. */
import { assert, assertEquals } from "../assert.ts";
import { withRuntime } from "../../src/cli/common.ts";
import { startsCodecWorkers } from "../../src/cli/prewarm.ts";

/** Counts the workers started while `fn` runs. */
async function workersStarted(fn: () => Promise<unknown>): Promise<number> {
  const original = globalThis.Worker;
  let started = 0;
  globalThis.Worker = class extends original {
    constructor(...args: ConstructorParameters<typeof Worker>) {
      super(...args);
      started++;
    }
  };
  try {
    await fn();
  } finally {
    globalThis.Worker = original;
  }
  return started;
}

Deno.test("cli: withRuntime starts the codec workers when the command first reads codec", async () => {
  const idle = await workersStarted(() => withRuntime(({ signal }) => Promise.resolve(signal)));
  assertEquals(idle, 0);
  let size = 0;
  const used = await workersStarted(() =>
    withRuntime(({ codec }) => (size = codec.size, Promise.resolve()))
  );
  assert(size > 0 && used === size, `${used} workers started for a pool of ${size}`);
});

Deno.test("cli: codec workers are prewarmed for tar, untar and mtree only with -i", () => {
  assertEquals(startsCodecWorkers(["tar", "out.catar", "dir"]), false);
  assertEquals(startsCodecWorkers(["untar", "--no-same-owner", "a.catar", "dir"]), false);
  assertEquals(startsCodecWorkers(["mtree", "-"]), false);
  assertEquals(startsCodecWorkers(["tar", "-i", "out.caidx", "dir"]), true);
  assertEquals(startsCodecWorkers(["untar", "-s", "store", "--index", "a.caidx", "dir"]), true);
  assertEquals(startsCodecWorkers(["--verbose", "mtree", "-ti", "a.caidx"]), true);
  assertEquals(startsCodecWorkers(["extract", "-s", "store", "a.caibx", "out"]), true);
  assertEquals(startsCodecWorkers(["info", "a.caibx"]), false);
  assertEquals(startsCodecWorkers([]), false);
});
