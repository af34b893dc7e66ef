/**
 * The SFTP store against a real sshd whose SFTP server misbehaves
 * (tests/fixtures/hostile_sftp_server.ts in front of OpenSSH's sftp-server):
 * stalls, cuts, short reads, lying sizes, refusals, a read-only server, and
 * Ctrl-C while it stalls. Every failure is one `desync:` line naming the store
 * (and the chunk), exit 1; Ctrl-C is exit 130 at once; nothing half-written.
 */
import { assert, assertEquals } from "../assert.ts";
import { SFTP_ENV } from "../../scripts/permissions.ts";
import { removeDir, REPO, tempDir } from "../helpers.ts";
import { SSHD_MISSING, type SshdPeer, startSshd } from "../interop/peers.ts";
import {
  assertBlob,
  assertFailure,
  assertNoOutput,
  chunkFile,
  escapeRegExp,
  exists,
  type Fixture,
  makeFixture,
  type Run,
  startCli,
  tempFiles,
} from "./harness.ts";

const FLAGS = [
  "--allow-read",
  "--allow-write",
  "--allow-net=127.0.0.1",
  `--allow-env=${SFTP_ENV.join(",")}`,
];
const ID = "[0-9a-f]{64}";

interface Hostile {
  sshd: SshdPeer;
  fixture: Fixture;
  /** sftp://root@127.0.0.1:PORT/ + the fixture's directory. */
  url: string;
  /** Sets what the SFTP server does from its next session on. */
  mode(mode: string): Promise<void>;
  start(args: string[]): ReturnType<typeof startCli>;
  run(args: string[]): Promise<Run>;
}

async function withHostileSftp(t: Deno.TestContext, fn: (h: Hostile) => Promise<void>) {
  const dir = await tempDir(t);
  const fixture = await makeFixture(dir);
  const modeFile = `${dir}/sftp-mode`;
  await Deno.writeTextFile(modeFile, "pass");
  const sshd = await startSshd({
    sftpSubsystem: `'${Deno.execPath()}' run --quiet --no-config --allow-read --allow-run ` +
      `'${REPO}tests/fixtures/hostile_sftp_server.ts' '${modeFile}'`,
  });
  const keys = ["--identity", sshd.userKey, "--known-hosts", sshd.knownHosts];
  const start = (args: string[]) => startCli([...keys, ...args], FLAGS, { deadlineMs: 30_000 });
  try {
    await fn({
      sshd,
      fixture,
      url: `sftp://root@127.0.0.1:${sshd.port}${dir}`,
      mode: (mode) => Deno.writeTextFile(modeFile, mode),
      start,
      run: (args) => start(args).done,
    });
  } finally {
    await sshd.stop();
    await removeDir(dir);
  }
}

const hostileTest = (name: string, fn: (h: Hostile) => Promise<void>) =>
  Deno.test({
    name: `faults: SFTP store, ${name}`,
    ignore: Boolean(SSHD_MISSING),
    fn: (t) => withHostileSftp(t, fn),
  });

/** Sends SIGINT once `ms` have passed; the run must end 130 within `withinMs` after it. */
async function interruptAfter(running: ReturnType<typeof startCli>, ms: number, withinMs: number) {
  await new Promise((resolve) => setTimeout(resolve, ms));
  const sent = performance.now();
  running.signal("SIGINT");
  const run = await running.done;
  const took = performance.now() - sent;
  assertFailure(run, /^desync: interrupted$/, 130);
  assert(took < withinMs, `exit ${Math.round(took)} ms after SIGINT (limit ${withinMs})`);
  return run;
}

hostileTest("a server that stalls mid-read: Ctrl-C exits 130 at once, no output", async (h) => {
  await h.mode("stall-data");
  const out = `${h.fixture.dir}/out`;
  const running = h.start(["extract", "-s", `${h.url}/store`, h.fixture.index, out]);
  await interruptAfter(running, 1500, 2500);
  assertNoOutput(out);
});

hostileTest("a server that stalls on rename: Ctrl-C during make exits 130 at once", async (h) => {
  await h.mode("stall-rename");
  const store = `${h.fixture.dir}/made`;
  const running = h.start(["make", "-s", `${h.url}/made`, `${store}.caibx`, h.fixture.blob]);
  await interruptAfter(running, 1500, 2500);
  assert(!exists(`${store}.caibx`), "no index");
  // The server stalls, so its temporary files may stay; none is under a chunk's name.
  for (const prefix of Deno.readDirSync(store)) {
    for (const file of Deno.readDirSync(`${store}/${prefix.name}`)) {
      assert(file.name.endsWith(".tmp"), `${file.name} is a temporary file`);
    }
  }
});

interface Case {
  mode: string;
  /** What stderr's one line says after `desync: store STORE: reading chunk ID: ` (else success). */
  expect?: string;
}

const READ_CASES: Case[] = [
  { mode: "pass" },
  // The protocol lets a server answer a read with fewer bytes than asked for.
  { mode: "short-data" },
  { mode: "stall-data", expect: "no answer within 1000 ms" },
  { mode: "close-data", expect: ".+" },
  { mode: "size-huge", expect: `.*/${ID}\\.cacnk has 1099511627776 bytes, more than \\d+` },
  { mode: "size-bigger", expect: `.*/${ID}\\.cacnk shrank while being read` },
  { mode: "deny-open", expect: "Permission denied" },
];

hostileTest("reads from a misbehaving server end in one line naming store and chunk", async (h) => {
  for (const c of READ_CASES) {
    await h.mode(c.mode);
    const out = `${h.fixture.dir}/out-${c.mode}`;
    const run = await h.run(
      ["extract", "--timeout", "1s", "-e", "0", "-n", "20", "-s", `${h.url}/store`]
        .concat([h.fixture.index, out]),
    );
    if (!c.expect) {
      assertEquals(run.code, 0, `${c.mode}: ${run.stderr}`);
      await assertBlob(out, h.fixture);
      continue;
    }
    const store = escapeRegExp(`${h.url}/store`);
    assertFailure(run, new RegExp(`^desync: store ${store}: reading chunk ${ID}: ${c.expect}$`));
    assertNoOutput(out);
  }
});

hostileTest(
  "make onto a read-only server fails naming the chunk, nothing left behind",
  async (h) => {
    await h.mode("pass -R");
    const run = await h.run(
      ["make", "-s", `${h.url}/ro`, `${h.fixture.dir}/ro.caibx`, h.fixture.blob],
    );
    assertFailure(run, new RegExp(`store sftp://.*/ro: writing chunk ${ID}: Permission denied$`));
    assertNoOutput(`${h.fixture.dir}/ro.caibx`);
    assertEquals(tempFiles(h.fixture.dir), []);
  },
);

hostileTest(
  "a slow server: Ctrl-C during make exits 130, its temporary files removed",
  async (h) => {
    await h.mode("slow");
    const store = `${h.fixture.dir}/made`;
    const running = h.start(["make", "-s", `${h.url}/made`, `${store}.caibx`, h.fixture.blob]);
    await interruptAfter(running, 1500, 2500);
    assert(!exists(`${store}.caibx`), "no index");
    assertEquals(tempFiles(h.fixture.dir), []);
  },
);

hostileTest(
  "a chunk file that is a directory is named as such, not as a bare Failure",
  async (h) => {
    const id = h.fixture.ids[1];
    const path = chunkFile(h.fixture.store, id);
    await Deno.remove(path);
    await Deno.mkdir(path);
    const out = `${h.fixture.dir}/out`;
    const run = await h.run(["extract", "-s", `${h.url}/store`, h.fixture.index, out]);
    assertFailure(run, new RegExp(`reading chunk ${id}: .*/${id}\\.cacnk is not a regular file$`));
    assertNoOutput(out);
  },
);

hostileTest(
  "a store path that does not exist is named, not reported as a missing chunk",
  async (h) => {
    const out = `${h.fixture.dir}/out`;
    const typo = `${h.url}/no-such-store`;
    const run = await h.run(["extract", "-s", typo, h.fixture.index, out]);
    // Go desync: "failed to stat '…/no-such-store/': file does not exist".
    assertFailure(
      run,
      /^desync: store sftp:\/\/.*\/no-such-store: no directory \/.*\/no-such-store$/,
    );
    assertNoOutput(out);
    // Also when it is the first of several stores: a typo does not pass for "not here".
    const routed = await h.run([
      "extract",
      "-s",
      typo,
      "-s",
      h.fixture.store,
      h.fixture.index,
      out,
    ]);
    assertFailure(routed, /no-such-store: no directory/);
  },
);
