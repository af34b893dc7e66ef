/**
 * What prune and verify -r may delete: only chunk files, never a directory or
 * FIFO under a chunk's other name, never the valid other form of a chunk whose
 * `.cacnk` is bad; and how prune ends when it removed nothing (every
 * unreferenced chunk was used since it began) or is interrupted at its prompt.
 */
import { createHash } from "node:crypto";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { compressChunk } from "../../src/chunk/codec.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { decodeIndex } from "../../src/format/index.ts";
import { MAIN, pseudoRandom, removeDir, tempDir } from "../helpers.ts";
import {
  assertBlob,
  chunkFile,
  exists,
  type Fixture,
  FLAGS,
  makeFixture,
  runCli,
  tempFiles,
} from "./harness.ts";

/** Writes `count` chunks no index of the fixture refers to; returns their IDs. */
async function addUnreferenced(store: string, count: number): Promise<ChunkId[]> {
  const ids: ChunkId[] = [];
  for (let i = 0; i < count; i++) {
    const plain = pseudoRandom(4096, 500 + i);
    const id = createHash("sha512-256").update(plain).digest("hex") as ChunkId;
    await Deno.mkdir(`${store}/${id.slice(0, 4)}`, { recursive: true });
    await Deno.writeFile(chunkFile(store, id), compressChunk(plain));
    ids.push(id);
  }
  return ids;
}

Deno.test("faults: prune removes chunk files only, never a directory or FIFO under the bare name", async (t) => {
  const dir = await tempDir(t);
  try {
    const f = await makeFixture(dir);
    const [withDir, withFifo, plainOld] = await addUnreferenced(f.store, 3);
    const bareDir = chunkFile(f.store, withDir).slice(0, -".cacnk".length);
    await Deno.mkdir(bareDir);
    await Deno.writeTextFile(`${bareDir}/keep`, "not a chunk");
    const bareFifo = chunkFile(f.store, withFifo).slice(0, -".cacnk".length);
    const made = await new Deno.Command("mkfifo", { args: [bareFifo] }).output();
    assert(made.success, "mkfifo");

    const run = await runCli(["prune", "-y", "-s", f.store, f.index], FLAGS.local, {
      deadlineMs: 20_000,
    });
    assertEquals(run.code, 0, run.stderr);
    assertEquals(run.stderr, "");
    for (const id of [withDir, withFifo, plainOld]) {
      assert(!exists(chunkFile(f.store, id)), `unreferenced ${id} removed`);
    }
    assertEquals(await Deno.readTextFile(`${bareDir}/keep`), "not a chunk");
    assert(Deno.lstatSync(bareFifo).isFifo, "the FIFO is left alone");
    for (const id of f.ids) assert(exists(chunkFile(f.store, id)), `referenced ${id} kept`);
  } finally {
    await removeDir(dir);
  }
});

Deno.test("faults: verify -r removes a bad .cacnk but not the valid uncompressed chunk beside it", async (t) => {
  const dir = await tempDir(t);
  try {
    const f = await makeFixture(dir);
    const victim = f.ids[5];
    const start = 5 * (64 << 10);
    const bare = chunkFile(f.store, victim).slice(0, -".cacnk".length);
    await Deno.writeFile(bare, f.data.slice(start, start + (64 << 10)));
    await Deno.writeFile(chunkFile(f.store, victim), new TextEncoder().encode("junk"));

    const repaired = await runCli(["verify", "-r", "-s", f.store], FLAGS.local, {
      deadlineMs: 20_000,
    });
    assertEquals(repaired.code, 1, repaired.stderr);
    assertMatch(repaired.stdout, new RegExp(`^chunk ${victim} in store .* is invalid`));
    assertMatch(repaired.stderr, /^desync: store .*: 1 of \d+ chunks invalid, 1 removed\n$/);
    assert(!exists(chunkFile(f.store, victim)), "the bad .cacnk is removed");
    assert(exists(bare), "the valid uncompressed form is kept");

    const clean = await runCli(["verify", "-s", f.store], ["--allow-read"]);
    assertEquals(clean.code, 0, clean.stdout + clean.stderr);
    const out = `${dir}/out`;
    const extracted = await runCli(["extract", "-s", f.store, f.index, out], FLAGS.local);
    assertEquals(extracted.code, 0, extracted.stderr);
    await assertBlob(out, f);
  } finally {
    await removeDir(dir);
  }
});

Deno.test("faults: prune -y that finds every unreferenced chunk in use succeeds, not 'cancelled'", async (t) => {
  const dir = await tempDir(t);
  try {
    const f = await makeFixture(dir);
    const unreferenced = await addUnreferenced(f.store, 2);
    // Used after prune begins (a concurrent make, or a clock ahead of ours): spared.
    const later = new Date(Date.now() + 3_600_000);
    for (const id of unreferenced) await Deno.utime(chunkFile(f.store, id), later, later);

    const run = await runCli(["prune", "-y", "-s", f.store, f.index], FLAGS.local);
    assertEquals(run.code, 0, run.stderr);
    assertEquals(run.stderr, "");
    for (const id of unreferenced) assert(exists(chunkFile(f.store, id)), `${id} spared`);
  } finally {
    await removeDir(dir);
  }
});

Deno.test("faults: SIGINT at prune's prompt exits 130 and removes nothing", async (t) => {
  const dir = await tempDir(t);
  try {
    const f = await makeFixture(dir);
    const unreferenced = await addUnreferenced(f.store, 2);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...FLAGS.local, MAIN, "prune", "-s", f.store, f.index],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const deadline = setTimeout(() => child.kill("SIGKILL"), 20_000);
    try {
      // Wait for the question, then interrupt instead of answering.
      const reader = child.stderr.getReader();
      let asked = "";
      while (!asked.includes("[y/N]")) {
        const { value, done } = await reader.read();
        if (done) break;
        asked += new TextDecoder().decode(value);
      }
      assertMatch(asked, /Remove 2 unreferenced chunks from store .*\? \[y\/N\] $/);
      child.kill("SIGINT");
      let rest = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        rest += new TextDecoder().decode(value);
      }
      const status = await child.status;
      await child.stdout.cancel();
      await child.stdin.close().catch(() => {});
      assertEquals(status.code, 130, rest);
      assertEquals(rest.trim().split("\n").length, 1, rest);
      assertMatch(rest.trim(), /^desync: /);
      for (const id of unreferenced) assert(exists(chunkFile(f.store, id)), `${id} kept`);
    } finally {
      clearTimeout(deadline);
    }
  } finally {
    await removeDir(dir);
  }
});

// A crash before a new chunk file's data reached the disk can leave it empty
// (renamed, never written back); no chunk is empty, so writers replace it.
for (
  const [name, args] of [
    ["make", (f: Fixture) => ["make", "-s", f.store, `${f.dir}/made.caibx`, f.blob]],
    ["chop", (f: Fixture) => ["chop", "-s", f.store, f.index, f.blob]],
    ["cache", (f: Fixture) => ["cache", "-s", `${f.dir}/source`, "-c", f.store, f.index]],
  ] as const
) {
  Deno.test(`faults: ${name} replaces an empty chunk file in the store with the chunk`, async (t) => {
    const dir = await tempDir(t);
    try {
      const f = await makeFixture(dir);
      await Deno.mkdir(`${dir}/source`);
      await new Deno.Command("cp", { args: ["-a", `${f.store}/.`, `${dir}/source`] }).output();
      // make cuts its own chunks: a first run tells which, and puts them in the store.
      const first = await runCli(args(f), FLAGS.local, { deadlineMs: 20_000 });
      assertEquals(first.code, 0, first.stderr);
      const index = name === "make" ? `${dir}/made.caibx` : f.index;
      const victim = decodeIndex(await Deno.readFile(index)).chunks[2].id;
      await Deno.writeFile(chunkFile(f.store, victim), new Uint8Array());

      const run = await runCli(args(f), FLAGS.local, { deadlineMs: 20_000 });
      assertEquals(run.code, 0, run.stderr);
      assert(Deno.statSync(chunkFile(f.store, victim)).size > 0, "the empty file is replaced");
      const clean = await runCli(["verify", "-s", f.store], ["--allow-read"]);
      assertEquals(clean.code, 0, clean.stdout + clean.stderr);
      assertEquals(tempFiles(f.store), []);
    } finally {
      await removeDir(dir);
    }
  });
}
