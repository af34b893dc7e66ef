/**
 * Signals mid-run: SIGINT, SIGTERM and SIGHUP stop extract, cat, cache and
 * make with exit 130/143/129 and one line, leaving no temporary file, no
 * output under the final name and no child process; a run killed with SIGKILL
 * leaves a temporary file that the next run on the same output removes; a
 * concurrent run's temporary file is never removed.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { pseudoRandom, removeDir, REPO, tempDir } from "../helpers.ts";
import { processesMatching } from "../interop/peers.ts";
import { startFaultServer } from "./fault_server.ts";
import {
  assertBlob,
  assertFailure,
  assertNoOutput,
  chunkFile,
  exists,
  fakeSsh,
  type Fixture,
  FLAGS,
  leftoverProcesses,
  makeFixture,
  runCli,
  startCli,
  tempFiles,
} from "./harness.ts";

const CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

async function until(condition: () => boolean, what: string, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A fixture and a store server that takes `slowMs` per chunk request while `slow()` holds. */
async function withSlowServer(
  t: Deno.TestContext,
  fn: (fixture: Fixture, url: string, server: ReturnType<typeof startFaultServer>) => Promise<void>,
  slowMs = 100,
) {
  const dir = await tempDir(t);
  const fixture = await makeFixture(dir);
  await Deno.mkdir(`${dir}/out`);
  const server = startFaultServer(
    dir,
    ({ path }) => path.endsWith(".cacnk") ? { kind: "slow", ms: slowMs } : { kind: "ok" },
  );
  try {
    await fn(fixture, server.url, server);
  } finally {
    await server.close();
    await removeDir(dir);
  }
}

interface Subject {
  name: string;
  args(f: Fixture, url: string): string[];
  /** Where partial results would show. */
  output(f: Fixture): string;
  check(f: Fixture): Promise<void>;
}

const SUBJECTS: Record<string, Subject> = {
  extract: {
    name: "extract",
    args: (f, url) => ["extract", "-n", "1", "-s", `${url}/store/`, f.index, `${f.dir}/out/blob`],
    output: (f) => `${f.dir}/out/blob`,
    check: (f) => assertBlob(`${f.dir}/out/blob`, f),
  },
  cat: {
    name: "cat",
    args: (f, url) => ["cat", "-n", "1", "-s", `${url}/store/`, f.index, `${f.dir}/out/blob`],
    output: (f) => `${f.dir}/out/blob`,
    check: (f) => assertBlob(`${f.dir}/out/blob`, f),
  },
  cache: {
    name: "cache",
    args: (f, url) => ["cache", "-n", "1", "-s", `${url}/store/`, "-c", `${f.dir}/out/c`, f.index],
    output: (f) => `${f.dir}/out/c/none`,
    async check(f) {
      for (const id of f.ids) {
        const cached = await Deno.readFile(chunkFile(`${f.dir}/out/c`, id));
        assertEquals(cached, await Deno.readFile(chunkFile(f.store, id)), `${id} cached`);
      }
    },
  },
  make: {
    name: "make",
    args: (f, url) => [
      "make",
      "-n",
      "1",
      "-m",
      "16:64:256",
      "-s",
      `${url}/made/`,
      `${f.dir}/out/made.caibx`,
      f.blob,
    ],
    output: (f) => `${f.dir}/out/made.caibx`,
    async check(f) {
      // The index and the chunks PUT into the server's directory rebuild the blob.
      const args = ["extract", "-s", `${f.dir}/made`, `${f.dir}/out/made.caibx`, `${f.dir}/re`];
      const rebuilt = await runCli(args, FLAGS.local);
      assertEquals(rebuilt.code, 0, rebuilt.stderr);
      await assertBlob(`${f.dir}/re`, f);
    },
  },
};

const SIGNALLED: [string, keyof typeof CODES][] = [
  ["extract", "SIGINT"],
  ["extract", "SIGTERM"],
  ["extract", "SIGHUP"],
  ["cat", "SIGTERM"],
  ["cache", "SIGINT"],
  ["make", "SIGTERM"],
];

for (const [name, signal] of SIGNALLED) {
  const subject = SUBJECTS[name];
  Deno.test(
    `faults: ${name}, ${signal} mid-run: exit ${CODES[signal]}, nothing left; a re-run completes`,
    async (t) => {
      await withSlowServer(t, async (f, url, server) => {
        const running = startCli(subject.args(f, url), FLAGS.http);
        await until(() => server.requests.length >= 3, "the run to get going");
        running.signal(signal);
        const run = await running.done;
        assertFailure(run, /^desync: interrupted/, CODES[signal]);
        assertNoOutput(subject.output(f));
        assertEquals(tempFiles(f.dir), [], "no temporary file anywhere");
        const again = await runCli(subject.args(f, url), FLAGS.http);
        assertEquals(again.code, 0, again.stderr);
        await subject.check(f);
      }, 60);
    },
  );
}

Deno.test("faults: cat from a local store lacking chunks a slow HTTP store has, SIGINT: exit 130 soon, nothing left", async (t) => {
  // The lanes gather the local store's chunks in runs; the rest are asked of the
  // chain, some waiting for a request slot when the signal comes.
  await withSlowServer(t, async (f, url, server) => {
    const part = `${f.dir}/part`;
    for (const id of f.ids.filter((_, k) => k % 2 === 0)) {
      await Deno.mkdir(`${part}/${id.slice(0, 4)}`, { recursive: true });
      await Deno.copyFile(chunkFile(f.store, id), chunkFile(part, id));
    }
    const output = `${f.dir}/out/blob`;
    const args = ["cat", "-n", "2", "-s", part, "-s", `${url}/store/`, f.index, output];
    const running = startCli(args, FLAGS.http);
    await until(() => server.requests.length >= 3, "the run to get going");
    const sent = performance.now();
    running.signal("SIGINT");
    const run = await running.done;
    const ms = performance.now() - sent;
    assertFailure(run, /^desync: interrupted/, 130);
    assert(ms < 1500, `exited ${ms.toFixed(0)} ms after the signal`);
    assertNoOutput(output);
    assertEquals(tempFiles(f.dir), [], "no temporary file anywhere");
    const again = await runCli(args, FLAGS.http);
    assertEquals(again.code, 0, again.stderr);
    await assertBlob(output, f);
  });
});

Deno.test("faults: make of small chunks into a local store, SIGINT: exit 130 soon, no temporary file", async (t) => {
  const dir = await tempDir(t);
  try {
    // Chunks of ~256 bytes: the lanes spend their time writing chunk files when
    // the signal comes. One lane runs on the main thread, which handles the
    // signal only between jobs: jobs of a megabyte of such chunks (4096 files)
    // kept it waiting 2-6 s.
    await Deno.writeFile(`${dir}/blob`, pseudoRandom(4 << 20, 17));
    const store = `${dir}/store`;
    const args = ["make", "-m", "64B:256B:1024B", "-s", store, `${dir}/made.caibx`, `${dir}/blob`];
    await interruptWhileWriting(
      args,
      FLAGS.local,
      store,
      () => assertNoOutput(`${dir}/made.caibx`),
    );
  } finally {
    await removeDir(dir);
  }
});

Deno.test("faults: cache of small chunks into a local cache, SIGINT: exit 130, no temporary file", async (t) => {
  const dir = await tempDir(t);
  try {
    // Thousands of ~256-byte chunks: the lanes are copying chunk files into the
    // cache when the signal comes, and a lane ended between a write and its
    // rename would leave a temporary file there.
    const index = await smallChunkStore(dir, 19);
    const cache = `${dir}/cache`;
    await interruptWhileWriting(
      ["cache", "-s", `${dir}/store`, "-c", cache, index],
      FLAGS.local,
      cache,
    );
  } finally {
    await removeDir(dir);
  }
});

Deno.test("faults: extract killed (SIGKILL) leaves a temporary file the next run removes", async (t) => {
  await withSlowServer(t, async (f, url) => {
    const args = SUBJECTS.extract.args(f, url);
    const running = startCli(args, FLAGS.http);
    await until(() => tempFiles(`${f.dir}/out`).length > 0, "the temporary output");
    running.signal("SIGKILL");
    await running.done.catch(() => {});
    const [left] = tempFiles(`${f.dir}/out`);
    assertMatch(left, /\/\.blob\.\d+-[0-9a-z]+\.tmp$/);
    // Temporary files younger than a second are never taken for stale.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await runCli(args, FLAGS.http);
    assertEquals(again.code, 0, again.stderr);
    await assertBlob(`${f.dir}/out/blob`, f);
    assertEquals(tempFiles(`${f.dir}/out`), [], `${left} was removed`);
  });
});

Deno.test("faults: a concurrent run's temporary output is never removed", async (t) => {
  await withSlowServer(t, async (f, url) => {
    const slow = startCli(SUBJECTS.extract.args(f, url), FLAGS.http);
    await until(() => tempFiles(`${f.dir}/out`).length > 0, "the first run's temporary output");
    const [first] = tempFiles(`${f.dir}/out`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const fast = await runCli(
      ["extract", "-s", f.store, f.index, `${f.dir}/out/blob`],
      FLAGS.local,
    );
    assertEquals(fast.code, 0, fast.stderr);
    assert(exists(first), "the running extract's temporary file is still there");
    const slowRun = await slow.done;
    assertEquals(slowRun.code, 0, slowRun.stderr);
    await assertBlob(`${f.dir}/out/blob`, f);
    assertEquals(tempFiles(`${f.dir}/out`), []);
  }, 60);
});

Deno.test("faults: Ctrl-C during a stuck SSH handshake exits 130 at once", async (t) => {
  const dir = await tempDir(t);
  try {
    const f = await makeFixture(dir);
    const ssh = await fakeSsh(dir, "silent");
    const args = ["extract", "-s", `ssh://example.invalid${f.store}`, f.index, `${dir}/out`];
    const running = startCli(args, FLAGS.ssh, { env: { CASYNC_SSH_PATH: ssh } });
    const remote = `pull - - - ${f.store}`;
    await until(() => processesMatching(remote).length > 0, "the ssh stand-in to start");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sent = performance.now();
    running.signal("SIGINT");
    const run = await running.done;
    assertFailure(run, /^desync: interrupted$/, 130);
    assert(performance.now() - sent < 4000, "it did not wait for the 1 min timeout");
    assertNoOutput(`${dir}/out`);
    assertEquals(await leftoverProcesses(dir), []);
  } finally {
    await removeDir(dir);
  }
});

Deno.test("faults: a second Ctrl-C exits at once, after cleaning up", async (t) => {
  const dir = await tempDir(t);
  try {
    const f = await makeFixture(dir);
    // A remote that stalls and ignores SIGTERM: the first Ctrl-C cannot end it quickly.
    const ssh = await fakeSsh(dir, "stall", { prelude: "trap '' TERM" });
    const args = ["extract", "-s", `ssh://example.invalid${f.store}`, f.index, `${dir}/out`];
    const running = startCli(args, FLAGS.ssh, { env: { CASYNC_SSH_PATH: ssh } });
    await until(() => tempFiles(dir).length > 0, "the temporary output");
    // On a busy machine the remote may take a while to start: interrupt once it stalls.
    await until(() => processesMatching(f.store).length > 0, "the remote");
    await new Promise((resolve) => setTimeout(resolve, 300));
    running.signal("SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = performance.now();
    running.signal("SIGINT");
    const run = await running.done;
    assert(performance.now() - second < 1500, "the second Ctrl-C ended it at once");
    assertFailure(run, /^desync: interrupted$/, 130);
    assertNoOutput(`${dir}/out`);
    assertEquals(await leftoverProcesses(dir), [], "the stalled remotes were killed");
  } finally {
    await removeDir(dir);
  }
});

Deno.test("faults: codec workers that Deno will not load fail the command, naming the grant", async (t) => {
  const dir = await tempDir(t);
  try {
    const f = await makeFixture(dir);
    const narrow = [`--allow-read=${dir}`, `--allow-write=${dir}`];
    const run = await runCli(["extract", "-s", f.store, f.index, `${dir}/out`], narrow, {
      deadlineMs: 20_000,
    });
    assertFailure(
      run,
      new RegExp(`needs --allow-read for ${REPO}src/ \\(this program's directory\\)`),
    );
    assertNoOutput(`${dir}/out`);
  } finally {
    await removeDir(dir);
  }
});

Deno.test("faults: cache of small chunks from HTTP into a local cache, SIGINT: exit 130 soon, no temporary file", async (t) => {
  const dir = await tempDir(t);
  try {
    // The lanes fetch and write the chunk files themselves: one stopped between a
    // write and its rename would leave a temporary file, one waiting on requests
    // in flight would hold up the exit.
    const index = await smallChunkStore(dir, 23);
    const server = startFaultServer(dir, () => ({ kind: "ok" }));
    try {
      const cache = `${dir}/cache`;
      const args = ["cache", "-s", `${server.url}/store/`, "-c", cache, index];
      await interruptWhileWriting(args, FLAGS.http, cache);
    } finally {
      await server.close();
    }
  } finally {
    await removeDir(dir);
  }
});

/** A 2 MiB blob in `dir`/store as thousands of ~256-byte chunks; returns its index's path. */
async function smallChunkStore(dir: string, seed: number): Promise<string> {
  await Deno.writeFile(`${dir}/blob`, pseudoRandom(2 << 20, seed));
  const index = `${dir}/blob.caibx`;
  const made = await runCli(
    ["make", "-m", "64B:256B:1024B", "-s", `${dir}/store`, index, `${dir}/blob`],
    FLAGS.local,
  );
  assertEquals(made.code, 0, made.stderr);
  return index;
}

/** Runs `args` until `ready`, sends SIGINT, and wants exit 130 within 1.5 s. */
async function interruptWhen(
  args: string[],
  flags: readonly string[],
  ready: () => boolean,
  what: string,
  round: number,
) {
  const running = startCli(args, flags);
  await until(ready, what);
  const sent = performance.now();
  running.signal("SIGINT");
  const run = await running.done;
  const ms = performance.now() - sent;
  assertFailure(run, /^desync: interrupted/, 130);
  assert(ms < 1500, `round ${round}: exited ${ms.toFixed(0)} ms after the signal`);
}

/**
 * Twice: runs `args` until `target` holds 200 entries, sends SIGINT, and wants
 * exit 130 within 1.5 s, no temporary file in `target` and `check` to pass.
 */
async function interruptWhileWriting(
  args: string[],
  flags: readonly string[],
  target: string,
  check: () => void = () => {},
) {
  for (let round = 0; round < 2; round++) {
    await Deno.remove(target, { recursive: true }).catch(() => {});
    const ready = () => exists(target) && [...Deno.readDirSync(target)].length >= 200;
    await interruptWhen(args, flags, ready, "chunks", round);
    check();
    assertEquals(tempFiles(target), [], `no temporary file in ${target} (round ${round})`);
  }
}

Deno.test("faults: untar -i of many small files, SIGINT while the lanes make them: exit 130, no tree left", async (t) => {
  const dir = await tempDir(t);
  try {
    // 16 000 files of 40-100 bytes: the lanes make most of them, in batches.
    const tree = `${dir}/tree`;
    for (let d = 0; d < 80; d++) {
      await Deno.mkdir(`${tree}/d${String(d).padStart(2, "0")}`, { recursive: true });
      for (let f = 0; f < 200; f++) {
        const name = `${tree}/d${String(d).padStart(2, "0")}/f${String(f).padStart(3, "0")}`;
        await Deno.writeFile(name, pseudoRandom(40 + (d * 31 + f) % 60, d * 1000 + f + 1));
      }
    }
    const made = await runCli(
      ["tar", "-i", "-s", `${dir}/store`, `${dir}/tree.caidx`, tree],
      FLAGS.local,
    );
    assertEquals(made.code, 0, made.stderr);
    await Deno.mkdir(`${dir}/out`);
    const args = ["untar", "-i", "-s", `${dir}/store`, `${dir}/tree.caidx`, `${dir}/out/tree`];
    for (let round = 0; round < 2; round++) {
      // Signalled once the new tree (under a temporary name) has some directories.
      const madeDirs = () =>
        [...Deno.readDirSync(`${dir}/out`)].some((entry) => exists(`${dir}/out/${entry.name}/d10`));
      await interruptWhen(args, FLAGS.local, madeDirs, "the tree to be started", round);
      assertEquals([...Deno.readDirSync(`${dir}/out`)], [], `round ${round}: nothing left`);
    }
  } finally {
    await removeDir(dir);
  }
});
