/**
 * The CLI's plain-http client (used when the proxy variables are readable,
 * which the other fault tests do not grant): the fault matrix through it, and
 * what only its kept-alive connections bring: GETs stalling on a reused
 * connection, which its own deadlines and the stop signal must end.
 */
import { assert, assertEquals } from "../assert.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { send, withRawServer } from "../fixtures/raw_http_server.ts";
import { EXTRACT, httpFaultMatrix } from "./http_matrix.ts";
import {
  assertBlob,
  assertFailure,
  assertNoOutput,
  type Fixture,
  FLAGS,
  makeFixture,
  runCli,
  startCli,
  tempFiles,
} from "./harness.ts";

httpFaultMatrix(EXTRACT, true);

interface KeptAlive {
  base: string;
  /** Chunk requests the server left unanswered so far. */
  stalled(): number;
  connections(): number;
  /** Request heads that asked for encoded bodies (fetch() does; the plain-http client never). */
  viaFetch(): number;
}

/**
 * Serves the fixture's directory on kept-alive connections; a chunk request
 * for which `stall(n)` holds (n counts requests) gets no answer.
 */
async function withKeptAliveServer(
  fixture: Fixture,
  stall: (n: number) => boolean,
  fn: (server: KeptAlive) => Promise<void>,
) {
  let stalled = 0;
  let viaFetch = 0;
  await withRawServer(async (conn, n, head) => {
    if (/^accept-encoding:/im.test(head)) viaFetch++;
    const path = head.split(" ")[1];
    if (path.endsWith(".cacnk") && stall(n)) {
      stalled++;
      return "keep";
    }
    const data = await Deno.readFile(`${fixture.dir}${path}`);
    await send(conn, `HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`);
    await send(conn, data);
    return "keep";
  }, ({ base, stats }) =>
    fn({
      base,
      stalled: () => stalled,
      connections: () => stats.connections,
      viaFetch: () => viaFetch,
    }));
}

async function until(condition: () => boolean, what: string) {
  const deadline = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("faults: extract, plain-http client: GETs stalling on kept-alive connections time out and are asked again on new ones", async (t) => {
  const dir = await tempDir(t);
  try {
    const fixture = await makeFixture(dir);
    // Every third request stalls, most of them on a connection that answered before.
    await withKeptAliveServer(fixture, (n) => n % 3 === 2, async (server) => {
      const output = `${dir}/out`;
      const args = ["extract", "-n", "4", "-e", "6", "-b", "10ms", "--timeout", "300ms"];
      const run = await runCli(
        [...args, "-s", `${server.base}/store/`, fixture.index, output],
        FLAGS.http1,
      );
      assertEquals(run.code, 0, run.stderr);
      await assertBlob(output, fixture);
      assertEquals(tempFiles(dir), []);
      assert(server.stalled() >= 5, `${server.stalled()} requests stalled`);
      // A timed-out connection is closed, never asked again: each stall costs one.
      assert(server.connections() > server.stalled(), `${server.connections()} connections`);
      assertEquals(server.viaFetch(), 0, "requests made by fetch()");
    });
  } finally {
    await removeDir(dir);
  }
});

for (
  const [command, signal, code] of [["extract", "SIGINT", 130], ["cat", "SIGTERM", 143]] as const
) {
  Deno.test(`faults: ${command}, plain-http client, ${signal} while every GET stalls on a kept-alive connection: exit ${code} at once, nothing left`, async (t) => {
    const dir = await tempDir(t);
    try {
      const fixture = await makeFixture(dir);
      // The first chunks are answered (their connections are kept), then nothing is.
      await withKeptAliveServer(fixture, (n) => n >= 8, async (server) => {
        const output = `${dir}/out`;
        const args = [command, "-n", "4", "--timeout", "60s", "-s", `${server.base}/store/`];
        const running = startCli([...args, fixture.index, output], FLAGS.http1);
        // A job's lanes that ran out of chunks wait for the others: three may be all that stall.
        await until(() => server.stalled() >= 3, "GETs to stall");
        const sent = performance.now();
        running.signal(signal);
        const run = await running.done;
        const ms = performance.now() - sent;
        assertFailure(run, /^desync: interrupted/, code);
        assert(ms < 1500, `exited ${ms.toFixed(0)} ms after the signal`);
        assertNoOutput(output);
        assertEquals(tempFiles(dir), [], "no temporary file anywhere");
        assertEquals(server.viaFetch(), 0, "requests made by fetch()");
      });
    } finally {
      await removeDir(dir);
    }
  });
}
