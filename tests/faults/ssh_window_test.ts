/**
 * An SSH store is asked for 16 chunks at once whatever -n says (requestWindow),
 * each session holding at most 16, and never asked twice for a chunk in one
 * session (casync would not answer again). At -n 1, a blob whose chunk list
 * repeats IDs (in a row, and later again), some of them missing from the
 * remote, must still extract from the next store, fail naming a missing chunk
 * and the store when there is none, cat in order, and stop at once on Ctrl-C.
 */
import { createHash } from "node:crypto";
import { assert, assertEquals } from "../assert.ts";
import { pseudoRandom, removeDir, tempDir } from "../helpers.ts";
import { compressChunk } from "../../src/chunk/codec.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { processesMatching } from "../interop/peers.ts";
import {
  assertFailure,
  assertNoOutput,
  CHUNK,
  chunkFile,
  escapeRegExp,
  fakeSsh,
  FLAGS,
  leftoverProcesses,
  runCli,
  startCli,
  writeFixtureIndex,
} from "./harness.ts";

/** Which distinct piece each chunk of the blob is: repeats in a row and later, then 20 more. */
const PATTERN = [0, 0, 0, 1, 0, 2, 2, 3, 4, 4, 4, 4, 5, 2, 6, 7, 7];
for (let piece = 8; piece < 28; piece++) PATTERN.push(piece);
/** Pieces the remote lacks: one repeated in a row (and later), one among the rest. */
const MISSING = [2, 20];

interface Repeating {
  dir: string;
  data: Uint8Array;
  index: string;
  /** What the remote serves: every piece but MISSING. */
  remote: string;
  /** A local store with only the MISSING pieces. */
  rest: string;
  missing: ChunkId[];
}

async function repeatingFixture(dir: string): Promise<Repeating> {
  const pieces = Math.max(...PATTERN) + 1;
  const source = pseudoRandom(pieces * CHUNK, 37);
  const data = new Uint8Array(PATTERN.length * CHUNK);
  PATTERN.forEach((piece, i) =>
    data.set(source.subarray(piece * CHUNK, (piece + 1) * CHUNK), i * CHUNK)
  );
  const ids: ChunkId[] = [];
  for (let piece = 0; piece < pieces; piece++) {
    const plain = source.subarray(piece * CHUNK, (piece + 1) * CHUNK);
    const id = createHash("sha512-256").update(plain).digest("hex") as ChunkId;
    const store = MISSING.includes(piece) ? `${dir}/rest` : `${dir}/remote`;
    await Deno.mkdir(`${store}/${id.slice(0, 4)}`, { recursive: true });
    await Deno.writeFile(chunkFile(store, id), compressChunk(plain));
    ids.push(id);
  }
  const index = `${dir}/blob.caibx`;
  await writeFixtureIndex(
    index,
    PATTERN.map((piece, i) => ({ id: ids[piece], start: i * CHUNK, size: CHUNK })),
  );
  await Deno.mkdir(`${dir}/out`);
  return {
    dir,
    data,
    index,
    remote: `${dir}/remote`,
    rest: `${dir}/rest`,
    missing: MISSING.map((piece) => ids[piece]),
  };
}

async function assertBytes(path: string, data: Uint8Array) {
  const got = await Deno.readFile(path);
  assertEquals(got.length, data.length, "output size");
  assert(got.every((byte, i) => byte === data[i]), "output bytes equal the blob");
}

/** The fixture, a stand-in for ssh serving its remote store, and the store's location. */
async function withRemote(
  t: Deno.TestContext,
  delayMs: number,
  fn: (f: Repeating, env: Record<string, string>, store: string) => Promise<void>,
) {
  const dir = await tempDir(t);
  try {
    const f = await repeatingFixture(dir);
    const env = { CASYNC_SSH_PATH: await fakeSsh(dir, "serve", { delayMs }) };
    await fn(f, env, `ssh://example.invalid${f.remote}`);
    assertEquals(await leftoverProcesses(dir), [], "no ssh stand-in outlives the command");
  } finally {
    await removeDir(dir);
  }
}

// The remote lacks the MISSING pieces: the local store after it serves them. cat writes in order.
for (const command of ["extract", "cat"]) {
  Deno.test(`faults: ${command} -n 1 over SSH, chunks repeated and some missing, completes from the next store`, async (t) => {
    await withRemote(t, 0, async (f, env, store) => {
      const out = `${f.dir}/out/blob`;
      const run = await runCli(
        [command, "-n", "1", "-s", store, "-s", f.rest, f.index, out],
        FLAGS.ssh,
        { env },
      );
      assertEquals(run.code, 0, run.stderr);
      await assertBytes(out, f.data);
    });
  });
}

Deno.test("faults: extract -n 1 over SSH, chunks repeated and some missing, fails naming one", async (t) => {
  await withRemote(t, 0, async (f, env, store) => {
    const out = `${f.dir}/out/blob`;
    const run = await runCli(["extract", "-n", "1", "-s", store, f.index, out], FLAGS.ssh, { env });
    const escaped = escapeRegExp(store);
    assertFailure(run, new RegExp(`chunk (${f.missing.join("|")}) missing from store ${escaped}$`));
    assertNoOutput(out);
  });
});

Deno.test("faults: Ctrl-C during an extract -n 1 over SSH with 16 requests in flight exits 130 at once", async (t) => {
  // 100 ms an answer: the 35 chunks take seconds, so the signal comes mid-pipeline.
  await withRemote(t, 100, async (f, env, store) => {
    const out = `${f.dir}/out/blob`;
    const running = startCli(
      ["extract", "-n", "1", "-s", store, "-s", f.rest, f.index, out],
      FLAGS.ssh,
      { env },
    );
    const deadline = Date.now() + 15_000;
    while (processesMatching(`pull - - - ${f.remote}`).length === 0) {
      assert(Date.now() < deadline, "the ssh stand-in started");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Let it say HELLO and answer a few.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const sent = performance.now();
    running.signal("SIGINT");
    const run = await running.done;
    const ms = performance.now() - sent;
    assertFailure(run, /^desync: interrupted$/, 130);
    assert(ms < 2000, `exited ${ms.toFixed(0)} ms after the signal`);
    assertNoOutput(out);
  });
});
