/**
 * Odd entries under a chunk's name in a local store: a directory, a FIFO,
 * symbolic links that dangle or lead out of the store. extract, cat and cache
 * fail at once naming chunk and store (a FIFO must not hang them); verify
 * reports every such entry and -r removes them.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { CACHE, CAT, EXTRACT } from "./http_matrix.ts";
import { assertFailure, chunkFile, exists, FLAGS, makeFixture, runCli } from "./harness.ts";

const ODD = {
  directory: (path: string) => Deno.mkdir(path),
  FIFO: async (path: string) => {
    const made = await new Deno.Command("mkfifo", { args: [path] }).output();
    assert(made.success, "mkfifo");
  },
  // Sparse: 3 GiB that must not be read (it was, whole, into memory).
  "huge file": async (path: string) => {
    using file = await Deno.open(path, { write: true, create: true });
    await file.truncate(3 * 2 ** 30);
  },
} as const;

const ARTICLES: Record<keyof typeof ODD, string> = {
  directory: "a directory",
  FIFO: "a FIFO",
  "huge file": "larger than \\d+ bytes",
};

for (const subject of [EXTRACT, CAT, CACHE]) {
  for (const [kind, make] of Object.entries(ODD)) {
    Deno.test(`faults: ${subject.name} from a store with a ${kind} for a chunk fails naming it`, async (t) => {
      const dir = await tempDir(t);
      try {
        const f = await makeFixture(dir);
        await Deno.mkdir(`${dir}/out`);
        const victim = f.ids[4];
        const path = chunkFile(f.store, victim);
        await Deno.remove(path);
        await make(path);
        const run = await runCli(subject.args(f, f.store), FLAGS.local, { deadlineMs: 20_000 });
        const article = ARTICLES[kind as keyof typeof ODD];
        assertFailure(
          run,
          new RegExp(
            `chunk ${victim} in store ${f.store} is invalid: ${path} is ${article}, not a chunk file`,
          ),
        );
        subject.failedCleanly(f, victim);
      } finally {
        await removeDir(dir);
      }
    });
  }
}

Deno.test("faults: verify reports what extract would trip over, and -r removes it", async (t) => {
  const dir = await tempDir(t);
  try {
    const f = await makeFixture(dir);
    const [dirId, fifoId, outsideId, danglingId] = [f.ids[1], f.ids[2], f.ids[3], f.ids[4]];
    await Deno.remove(chunkFile(f.store, dirId));
    await ODD.directory(chunkFile(f.store, dirId));
    await Deno.remove(chunkFile(f.store, fifoId));
    await ODD.FIFO(chunkFile(f.store, fifoId));
    await Deno.rename(chunkFile(f.store, outsideId), `${dir}/elsewhere.cacnk`);
    await Deno.symlink(`${dir}/elsewhere.cacnk`, chunkFile(f.store, outsideId));
    await Deno.remove(chunkFile(f.store, danglingId));
    await Deno.symlink(`${dir}/nothing-here`, chunkFile(f.store, danglingId));

    const found = await runCli(["verify", "-s", f.store], ["--allow-read"], { deadlineMs: 20_000 });
    assertEquals(found.code, 1, found.stderr);
    const lines = found.stdout.trim().split("\n").sort();
    assertEquals(lines.length, 4, found.stdout);
    for (
      const [id, what] of [
        [dirId, "is a directory, not a chunk file"],
        [fifoId, "is a FIFO, not a chunk file"],
        [outsideId, `is a symbolic link to ${dir}/elsewhere.cacnk, outside the store`],
        [danglingId, "is a symbolic link that leads nowhere"],
      ]
    ) {
      const line = lines.find((l) => l.includes(id));
      assert(line, `${id} reported`);
      assertMatch(line, new RegExp(`^chunk ${id} in store ${f.store} is invalid: .*${what}`));
    }
    assertMatch(found.stderr, /^desync: store .*: 4 of \d+ chunks invalid\n$/);

    const repaired = await runCli(["verify", "-r", "-s", f.store], FLAGS.local, {
      deadlineMs: 20_000,
    });
    assertEquals(repaired.code, 1);
    for (const id of [dirId, fifoId, outsideId, danglingId]) {
      assert(!exists(chunkFile(f.store, id)), `${id} removed`);
    }
    assert(exists(`${dir}/elsewhere.cacnk`), "a link's target outside the store is not touched");
    const clean = await runCli(["verify", "-s", f.store], ["--allow-read"]);
    assertEquals(clean.code, 0, clean.stdout + clean.stderr);
  } finally {
    await removeDir(dir);
  }
});
