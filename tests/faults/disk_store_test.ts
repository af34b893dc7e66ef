/**
 * Stores on a file system that fails under the command: prune and verify -r
 * on a read-only store, make and chop into a store that fills up mid-run. Each
 * fails with one line naming the store, the chunk, the path and the operation,
 * and every chunk file left in the store is whole and valid.
 */
import { assert, assertEquals } from "../assert.ts";
import { encodeIndex, FLAG_SHA512_256 } from "../../src/format/index.ts";
import {
  assertFailure,
  assertNoOutput,
  chunkFile,
  exists,
  type Fixture,
  FLAGS,
  runCli,
} from "./harness.ts";
import { assertStoreSound, NO_SPACE, remountReadOnly, tmpfsTest } from "./tmpfs.ts";

/** Copies the fixture's store onto the tmpfs; returns its path there. */
async function copyStore(f: Fixture, small: string): Promise<string> {
  const store = `${small}/store`;
  for (const id of new Set(f.ids)) {
    await Deno.mkdir(`${store}/${id.slice(0, 4)}`, { recursive: true });
    await Deno.copyFile(chunkFile(f.store, id), chunkFile(store, id));
  }
  return store;
}

const READ_ONLY = "read-only file system";

tmpfsTest("prune of a read-only store names the chunk file", { size: "4m" }, async (f, small) => {
  const store = await copyStore(f, small);
  await remountReadOnly(small);
  // An index of the first half of the blob: the other chunks are to go.
  const half = `${f.dir}/half.caibx`;
  const chunks = f.ids.slice(0, 16).map((id, i) => ({ id, start: i * 65536, size: 65536 }));
  await Deno.writeFile(
    half,
    encodeIndex({
      featureFlags: FLAG_SHA512_256,
      chunkSizeMin: 16384,
      chunkSizeAvg: 65536,
      chunkSizeMax: 262144,
      chunks,
    }),
  );
  const run = await runCli(["prune", "-y", "-s", store, half], FLAGS.local);
  assertFailure(
    run,
    new RegExp(
      `^desync: store ${store}: removing chunk [0-9a-f]{64}: ` +
        `cannot remove ${store}/[0-9a-f]{4}/[0-9a-f]{64}\\.cacnk: ${READ_ONLY}$`,
    ),
  );
  assertEquals(assertStoreSound(store), new Set(f.ids).size);
});

tmpfsTest(
  "verify -r of a read-only store names the chunk file it cannot remove",
  { size: "4m" },
  async (f, small) => {
    const store = await copyStore(f, small);
    const bad = chunkFile(store, f.ids[5]);
    await Deno.writeFile(bad, new Uint8Array(100));
    await remountReadOnly(small);
    const run = await runCli(["verify", "-r", "-s", store], FLAGS.local);
    assertEquals(run.stdout.trim().split("\n").length, 1, `the invalid chunk: ${run.stdout}`);
    assertFailure(
      run,
      new RegExp(
        `^desync: store ${store}: removing chunk ${f.ids[5]}: cannot remove ${bad}: ${READ_ONLY}$`,
      ),
    );
    assert(exists(bad), "the invalid chunk is where it was");
  },
);

for (const command of ["make", "chop"]) {
  tmpfsTest(
    `${command} into a store that fills up leaves only whole chunks`,
    { size: "1m" },
    async (f, small) => {
      const store = `${small}/store`;
      const index = command === "make" ? `${f.dir}/made.caibx` : f.index;
      const run = await runCli([command, "-s", store, index, f.blob], FLAGS.local);
      assertFailure(
        run,
        new RegExp(
          `^desync: store ${store}: writing chunk [0-9a-f]{64}: ` +
            `cannot (create directory|write) ${store}/\\S+: ${NO_SPACE}$`,
        ),
      );
      if (command === "make") assertNoOutput(index);
      const stored = assertStoreSound(store);
      assert(stored > 0, "some chunks fit");
    },
  );
}
