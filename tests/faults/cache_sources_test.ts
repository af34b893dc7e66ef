/**
 * cache from HTTP stores: what the chunks end as in the cache, which requests
 * are made, and how a chunk no store has is reported, whichever way the
 * chunks travel (workers or the main thread).
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { missingTools, mustRun, removeDir, runTool, tempDir } from "../helpers.ts";
import { startFaultServer } from "./fault_server.ts";
import {
  assertFailure,
  CHUNK,
  chunkFile,
  escapeRegExp,
  exists,
  type Fixture,
  FLAGS,
  makeFixture,
  runCli,
  tempFiles,
} from "./harness.ts";

const REMOTE = ["-e", "1", "-b", "1ms", "--timeout", "5s"];

/** `desync cache` of the fixture's index from `store` into `cache`, with short retries. */
function cacheFrom(store: string, cache: string, fixture: Fixture) {
  return runCli(["cache", ...REMOTE, "-s", store, "-c", cache, fixture.index], FLAGS.http);
}

/** Every chunk of the fixture is in `cache`, byte for byte the store's zstd file. */
async function assertCached(fixture: Fixture, cache: string) {
  for (const id of fixture.ids) {
    const cached = await Deno.readFile(chunkFile(cache, id));
    assertEquals(cached, await Deno.readFile(chunkFile(fixture.store, id)), `chunk ${id} cached`);
  }
  assertEquals(tempFiles(cache), []);
}

Deno.test("cache over HTTP: every chunk lands as the store's file; present ones are not fetched", async (t) => {
  const dir = await tempDir(t);
  const fixture = await makeFixture(dir);
  const cache = `${dir}/cache`;
  // Two chunks are there already: neither is asked for with GET.
  const present = [fixture.ids[2], fixture.ids[9]];
  for (const id of present) {
    await Deno.mkdir(chunkFile(cache, id).replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.copyFile(chunkFile(fixture.store, id), chunkFile(cache, id));
  }
  const server = startFaultServer(dir, () => ({ kind: "ok" }));
  try {
    const run = await cacheFrom(`${server.url}/store/`, cache, fixture);
    assertEquals(run.code, 0, run.stderr);
    await assertCached(fixture, cache);
    const gets = server.requests.filter((r) => r.method === "GET").map((r) => r.path);
    for (const id of present) assert(!gets.some((p) => p.includes(id)), `${id} not fetched`);
    // 32 chunks, one repeated, two present: 29 fetched, each once.
    assertEquals(gets.length, 29);
    assertEquals(new Set(gets).size, 29);
  } finally {
    await server.close();
    await removeDir(dir);
  }
});

Deno.test("cache over HTTP: a chunk the first store lacks comes from the second", async (t) => {
  const dir = await tempDir(t);
  const fixture = await makeFixture(dir);
  const cache = `${dir}/cache`;
  const victim = fixture.ids[5];
  const first = startFaultServer(
    dir,
    ({ path }) => path.includes(victim) ? { kind: "status", status: 404 } : { kind: "ok" },
  );
  const second = startFaultServer(dir, () => ({ kind: "ok" }));
  try {
    const run = await runCli(
      [
        "cache",
        ...REMOTE,
        "-s",
        `${first.url}/store/`,
        "-s",
        `${second.url}/store/`,
        "-c",
        cache,
        fixture.index,
      ],
      FLAGS.http,
    );
    assertEquals(run.code, 0, run.stderr);
    await assertCached(fixture, cache);
    const fromSecond = second.requests.filter((r) => r.method === "GET").map((r) => r.path);
    assertEquals(fromSecond.length, 1, `${fromSecond}`);
    assertMatch(fromSecond[0], new RegExp(victim));
  } finally {
    await first.close();
    await second.close();
    await removeDir(dir);
  }
});

Deno.test("cache over HTTP: a chunk no store has fails naming the chunk, and nothing half-written stays", async (t) => {
  const dir = await tempDir(t);
  const fixture = await makeFixture(dir);
  const cache = `${dir}/cache`;
  const victim = fixture.ids[5];
  await Deno.remove(chunkFile(fixture.store, victim));
  const server = startFaultServer(dir, () => ({ kind: "ok" }));
  try {
    for (const stores of [1, 2]) {
      const args = ["cache", ...REMOTE];
      for (let i = 0; i < stores; i++) args.push("-s", `${server.url}/store/`);
      const run = await runCli([...args, "-c", cache, fixture.index], FLAGS.http);
      assertFailure(run, new RegExp(`chunk ${victim}`));
      assertMatch(run.stderr, /missing|not found/i);
      // One store is named; of several, none is singled out.
      if (stores === 1) assertMatch(run.stderr, new RegExp(escapeRegExp(`${server.url}/store/`)));
      assert(!exists(chunkFile(cache, victim)));
      if (exists(cache)) assertEquals(tempFiles(cache), []);
    }
  } finally {
    await server.close();
    await removeDir(dir);
  }
});

/**
 * The victim's chunk as the zstd CLI frames it: with a content checksum (as Go
 * desync writes its chunks) or with its content size, and then, if asked, with
 * the checksum or the size made wrong. Its plain data is incompressible, so the
 * frame is raw blocks.
 */
async function cliFrame(fixture: Fixture, index: number, fault: "none" | "checksum" | "size") {
  const plain = `${fixture.dir}/victim.plain`;
  await Deno.writeFile(plain, fixture.data.subarray(index * CHUNK, (index + 1) * CHUNK));
  const check = fault === "size" ? "--no-check" : "--check";
  await mustRun("zstd", ["-q", "-f", "-3", check, plain, "-o", `${plain}.zst`]);
  const frame = await Deno.readFile(`${plain}.zst`);
  if (fault === "checksum") frame[frame.length - 1] ^= 0xff;
  if (fault === "size") {
    // Single segment, a 2-byte content size (RFC 8878 3.1.1.1): 64 KiB is stored as 65280.
    assertEquals(Array.from(frame.subarray(4, 7)), [0x60, 0x00, 0xff]);
    frame[5] = 1;
  }
  return frame;
}

for (const fault of ["checksum", "size"] as const) {
  Deno.test({
    name: `cache: a zstd frame whose content ${fault} is wrong is invalid and never cached`,
    ignore: Boolean(missingTools("zstd")),
    async fn(t) {
      // `zstd -t` refuses such a file (and Go desync such a body, its decoder checks
      // both): it must not land in the cache under the chunk's name.
      const dir = await tempDir(t);
      const fixture = await makeFixture(dir);
      const victim = fixture.ids[5];
      const bad = await cliFrame(fixture, 5, fault);
      await Deno.writeFile(`${dir}/bad.zst`, bad);
      assert(
        (await runTool("zstd", ["-t", "-q", `${dir}/bad.zst`])).code !== 0,
        "zstd -t refuses it",
      );
      const server = startFaultServer(
        dir,
        ({ path }) => path.includes(victim) ? { kind: "body", body: bad } : { kind: "ok" },
      );
      // The same frame in a local store, which cache copies from in the workers too.
      const local = `${dir}/local`;
      await mustRun("cp", ["-r", fixture.store, local]);
      await Deno.writeFile(chunkFile(local, victim), bad);
      try {
        for (const store of [`${server.url}/store/`, local]) {
          const cache = `${dir}/cache`;
          const run = await cacheFrom(store, cache, fixture);
          assertFailure(
            run,
            new RegExp(`chunk ${victim} in store ${escapeRegExp(store)} is invalid`),
          );
          assert(!exists(chunkFile(cache, victim)), `${store}: the bad frame is not cached`);
          if (exists(cache)) assertEquals(tempFiles(cache), []);
          await removeDir(cache);
        }
      } finally {
        await server.close();
        await removeDir(dir);
      }
    },
  });
}

Deno.test({
  name: "cache over HTTP: a zstd frame with a sound content checksum lands as it came",
  ignore: Boolean(missingTools("zstd")),
  async fn(t) {
    // As Go desync stores it: the body, byte for byte.
    const dir = await tempDir(t);
    const fixture = await makeFixture(dir);
    const victim = fixture.ids[5];
    const good = await cliFrame(fixture, 5, "none");
    const server = startFaultServer(
      dir,
      ({ path }) => path.includes(victim) ? { kind: "body", body: good } : { kind: "ok" },
    );
    try {
      const cache = `${dir}/cache`;
      const run = await cacheFrom(`${server.url}/store/`, cache, fixture);
      assertEquals(run.code, 0, run.stderr);
      assertEquals(await Deno.readFile(chunkFile(cache, victim)), good);
      await mustRun("zstd", ["-t", "-q", chunkFile(cache, victim)]);
    } finally {
      await server.close();
      await removeDir(dir);
    }
  },
});

Deno.test("cache over HTTP: a chunk present in Go's uncompressed form is neither fetched nor written again", async (t) => {
  const dir = await tempDir(t);
  const fixture = await makeFixture(dir);
  const cache = `${dir}/cache`;
  const victim = fixture.ids[5];
  // Go desync's uncompressed stores name a chunk file by its ID alone and hold its plain data.
  const plainFile = chunkFile(cache, victim).replace(/\.cacnk$/, "");
  const plain = fixture.data.subarray(5 * CHUNK, 6 * CHUNK);
  await Deno.mkdir(plainFile.replace(/\/[^/]+$/, ""), { recursive: true });
  await Deno.writeFile(plainFile, plain);
  const server = startFaultServer(dir, () => ({ kind: "ok" }));
  try {
    const run = await cacheFrom(`${server.url}/store/`, cache, fixture);
    assertEquals(run.code, 0, run.stderr);
    const gets = server.requests.filter((r) => r.method === "GET").map((r) => r.path);
    assert(!gets.some((p) => p.includes(victim)), `${victim} not fetched`);
    assert(!exists(chunkFile(cache, victim)), "no second copy as .cacnk");
    assertEquals(await Deno.readFile(plainFile), plain);
    assertEquals(tempFiles(cache), []);
  } finally {
    await server.close();
    await removeDir(dir);
  }
});
