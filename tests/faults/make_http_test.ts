/**
 * The HTTP rows of the fault matrix for make, whose chunks go to the store
 * with PUT: the third PUT fails in each way a server or network can, once or
 * for good. A failed make leaves no index; a successful one rebuilds the blob.
 */
import { assert, assertEquals } from "../assert.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { type Fault, startFaultServer } from "./fault_server.ts";
import {
  assertBlob,
  assertFailure,
  assertNoOutput,
  FLAGS,
  makeFixture,
  runCli,
} from "./harness.ts";

interface Case {
  name: string;
  fault: Fault;
  /** How many PUTs (from the third on) fail; all of them when undefined. */
  times?: number;
  expect?: string;
}

const CASES: Case[] = [
  {
    name: "a 500 on every attempt",
    fault: { kind: "status", status: 500 },
    expect: "HTTP status 500",
  },
  { name: "a 500, then success", fault: { kind: "status", status: 500 }, times: 1 },
  { name: "a reset connection", fault: { kind: "reset" }, expect: ".+" },
  { name: "a reset, then success", fault: { kind: "reset" }, times: 1 },
  { name: "a stall past --timeout", fault: { kind: "stall" }, expect: "timed out after 500 ms" },
  {
    name: "a 403",
    fault: { kind: "status", status: 403 },
    // Refused access: the answer says the variable that could carry credentials was not read.
    expect:
      "HTTP status 403 \\(DESYNC_HTTP_AUTH is not read without --allow-env=DESYNC_HTTP_AUTH\\)",
  },
  {
    name: "an endless answer",
    fault: { kind: "oversize", bytes: 1 << 30 },
    expect: "the answer's body exceeds 65536 bytes",
  },
];

for (const c of CASES) {
  Deno.test(`faults: make into an HTTP store: ${c.name}`, async (t) => {
    const dir = await tempDir(t);
    const f = await makeFixture(dir);
    await Deno.mkdir(`${dir}/out`);
    let puts = 0;
    const server = startFaultServer(dir, ({ method }) => {
      if (method !== "PUT" || puts++ < 2) return { kind: "ok" };
      return c.times === undefined || puts - 3 < c.times ? c.fault : { kind: "ok" };
    });
    try {
      const store = `${server.url}/made/`;
      const index = `${dir}/out/made.caibx`;
      const args = ["make", "-n", "2", "-e", "1", "-b", "1ms", "--timeout", "500ms"];
      const run = await runCli(
        [...args, "-m", "16:64:256", "-s", store, index, f.blob],
        FLAGS.http,
      );
      if (c.expect) {
        assertFailure(
          run,
          new RegExp(`^desync: store ${store}: PUT chunk [0-9a-f]{64}: ${c.expect}$`),
        );
        assertNoOutput(index);
        assert(run.peakMiB < 400, `peak memory ${run.peakMiB.toFixed(0)} MiB`);
      } else {
        assertEquals(run.code, 0, run.stderr);
        const rebuilt = await runCli(
          ["extract", "-s", `${dir}/made`, index, `${dir}/re`],
          FLAGS.local,
        );
        assertEquals(rebuilt.code, 0, rebuilt.stderr);
        await assertBlob(`${dir}/re`, f);
      }
    } finally {
      await server.close();
      await removeDir(dir);
    }
  });
}
