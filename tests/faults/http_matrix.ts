/**
 * The HTTP rows of the fault matrix, for one command at a time: a store
 * server that fails one chunk (the victim) in each way a server or network
 * can, and what the command must do about it.
 */
import { assert, assertEquals } from "../assert.ts";
import { compressChunk } from "../../src/chunk/codec.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { pseudoRandom, removeDir, tempDir } from "../helpers.ts";
import { type Fault, startFaultServer } from "./fault_server.ts";
import {
  assertBlob,
  assertFailure,
  assertNoOutput,
  chunkFile,
  escapeRegExp,
  exists,
  type Fixture,
  FLAGS,
  makeFixture,
  runCli,
  tempFiles,
} from "./harness.ts";

/** How a command is run against a store URL, and how its result is judged. */
export interface Subject {
  name: string;
  args(fixture: Fixture, store: string): string[];
  /** The command succeeded: its result is complete and correct. */
  succeeded(fixture: Fixture): Promise<void>;
  /** The command failed: nothing incomplete was left where a result would be. */
  failedCleanly(fixture: Fixture, victim: ChunkId): void;
}

const REMOTE = ["-e", "1", "-b", "1ms", "--timeout", "500ms"];

export const EXTRACT: Subject = {
  name: "extract",
  args: (f, store) => ["extract", ...REMOTE, "-s", store, f.index, `${f.dir}/out/blob`],
  succeeded: (f) => assertBlob(`${f.dir}/out/blob`, f),
  failedCleanly: (f) => assertNoOutput(`${f.dir}/out/blob`),
};

export const CAT: Subject = {
  name: "cat",
  args: (f, store) => ["cat", ...REMOTE, "-s", store, f.index, `${f.dir}/out/blob`],
  succeeded: (f) => assertBlob(`${f.dir}/out/blob`, f),
  failedCleanly: (f) => assertNoOutput(`${f.dir}/out/blob`),
};

export const CACHE: Subject = {
  name: "cache",
  args: (f, store) => ["cache", ...REMOTE, "-s", store, "-c", `${f.dir}/out/cache`, f.index],
  async succeeded(f) {
    for (const id of f.ids) {
      const cached = await Deno.readFile(chunkFile(`${f.dir}/out/cache`, id));
      assertEquals(cached, await Deno.readFile(chunkFile(f.store, id)), `chunk ${id} cached`);
    }
  },
  failedCleanly(f, victim) {
    assert(!exists(chunkFile(`${f.dir}/out/cache`, victim)), "the failed chunk is not cached");
    if (exists(`${f.dir}/out/cache`)) assertEquals(tempFiles(`${f.dir}/out/cache`), []);
  },
};

interface Case {
  name: string;
  /** The fault for the victim's requests; `times` of them, then normal service. */
  fault: (fixture: Fixture) => Fault;
  times?: number;
  /** What the one line says (after "chunk VICTIM"), or undefined for success. */
  expect?: (store: string, victim: ChunkId) => RegExp;
  /** Peak memory the command may reach, in MiB. */
  maxMiB?: number;
}

const get = (store: string, victim: ChunkId, rest: string) =>
  new RegExp(`store ${escapeRegExp(store)}: GET chunk ${victim}: ${rest}`);

const CASES: Case[] = [
  {
    name: "a 500 on every attempt fails naming store and chunk",
    fault: () => ({ kind: "status", status: 500 }),
    expect: (s, v) => get(s, v, "HTTP status 500"),
  },
  {
    name: "a 500, then the chunk, succeeds",
    fault: () => ({ kind: "status", status: 500 }),
    times: 1,
  },
  {
    name: "a reset connection fails naming store and chunk",
    fault: () => ({ kind: "reset" }),
    expect: (s, v) => get(s, v, ".+"),
  },
  {
    name: "a reset, then the chunk, succeeds",
    fault: () => ({ kind: "reset" }),
    times: 1,
  },
  {
    name: "a stall past --timeout fails naming store and chunk",
    fault: () => ({ kind: "stall" }),
    expect: (s, v) => get(s, v, "timed out after 500 ms"),
  },
  {
    name: "a truncated body fails naming store and chunk",
    fault: () => ({ kind: "truncate", bytes: 1000 }),
    expect: (s, v) => get(s, v, ".+"),
  },
  {
    name: "an endless body is cut off at the chunk bound, in bounded memory",
    fault: () => ({ kind: "oversize", bytes: 1 << 30 }),
    expect: (s, v) => get(s, v, "the answer's body exceeds \\d+ bytes"),
    maxMiB: 400,
  },
  {
    name: "a declared 1 TiB body is refused before reading",
    fault: () => ({ kind: "declare", length: 2 ** 40 }),
    expect: (s, v) => get(s, v, "the answer's body exceeds \\d+ bytes"),
  },
  {
    name: "wrong bytes fail as an invalid chunk naming the store",
    fault: () => ({ kind: "body", body: compressChunk(pseudoRandom(64 << 10, 5)) }),
    expect: (s, v) => new RegExp(`chunk ${v} in store ${escapeRegExp(s)} is invalid`),
  },
];

/**
 * Registers every HTTP fault case for `subject`; with `plain`, the CLI may read the proxy
 * variables, so that its GETs go through the plain-http client instead of fetch().
 */
export function httpFaultMatrix(subject: Subject, plain = false) {
  const flags = plain ? FLAGS.http1 : FLAGS.http;
  const client = plain ? " (plain-http client)" : "";
  for (const c of CASES) {
    Deno.test(`faults: ${subject.name} over HTTP${client}: ${c.name}`, async (t) => {
      const dir = await tempDir(t);
      const fixture = await makeFixture(dir);
      await Deno.mkdir(`${dir}/out`);
      const victim = fixture.ids[5];
      let hits = 0;
      const server = startFaultServer(dir, ({ path }) => {
        if (!path.includes(victim)) return { kind: "ok" };
        return c.times === undefined || hits++ < c.times ? c.fault(fixture) : { kind: "ok" };
      });
      try {
        const store = `${server.url}/store/`;
        const run = await runCli(subject.args(fixture, store), flags);
        // fetch() asks for encoded bodies; the plain-http client never does.
        const viaFetch = server.requests.filter((request) => request.acceptEncoding).length;
        assertEquals(viaFetch, plain ? 0 : server.requests.length, "requests made by fetch()");
        if (c.expect) {
          assertFailure(run, c.expect(store, victim));
          subject.failedCleanly(fixture, victim);
        } else {
          assertEquals(run.code, 0, run.stderr);
          await subject.succeeded(fixture);
        }
        if (c.maxMiB !== undefined && run.peakMiB > 0) {
          assert(run.peakMiB < c.maxMiB, `peak memory ${run.peakMiB.toFixed(0)} MiB`);
          assert(server.bytesSent() < 64 << 20, `server got to send ${server.bytesSent()} bytes`);
        }
      } finally {
        await server.close();
        await removeDir(dir);
      }
    });
  }
}
