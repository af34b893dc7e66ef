/**
 * Mistyped locations and missing permissions: store and index URLs are
 * checked before any request (usage error, exit 2); a request Deno's
 * permissions refuse fails at once naming the flag; the parser's own errors
 * start with "desync:" like every other.
 */
import { assert, assertEquals } from "../assert.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { startFaultServer } from "./fault_server.ts";
import { assertFailure, escapeRegExp, FLAGS, makeFixture, runCli } from "./harness.ts";

Deno.test("faults: bad store and index URLs are usage errors before any request", async (t) => {
  const dir = await tempDir(t);
  const f = await makeFixture(dir);
  const server = startFaultServer(dir);
  try {
    const index = `${server.url}/blob.caibx`;
    for (
      const [location, why] of [
        ["http://", "the URL names no host"],
        ["http:///store", "the URL names no host"],
        ["https://:8080/store", "the URL names no host|not a valid URL"],
        ["http://user:secret@127.0.0.1/store", "credentials do not belong in the URL"],
        ["http://127.0.0.1/store?x=1", "a store URL takes no query or fragment"],
        ["http://127.0.0.1/store#frag", "a store URL takes no query or fragment"],
        ["http://exa mple/store", "not a valid URL"],
        ["ssh:///store", "want ssh://"],
        ["ftp://127.0.0.1/store", "unsupported scheme"],
      ]
    ) {
      for (
        const args of [["extract", "-s", location], ["cache", "-c", `${dir}/c`, "-s", location]]
      ) {
        const run = await runCli(
          [...args, index, ...(args[0] === "extract" ? [`${dir}/out`] : [])],
          FLAGS.http,
        );
        assertFailure(run, new RegExp(`^desync: store ${escapeRegExp(location)}: (${why})`), 2);
      }
    }
    const noHost = await runCli(["list-chunks", "http:///blob.caibx"], FLAGS.http);
    assertFailure(noHost, /^desync: index http:\/\/\/blob\.caibx: the URL names no host/, 2);
    assertEquals(server.requests, [], "no request was made");
    const good = await runCli(["list-chunks", index], FLAGS.http);
    assertEquals(good.code, 0, good.stderr);
    assertEquals(good.stdout.trim().split("\n"), f.ids);
  } finally {
    await server.close();
    await removeDir(dir);
  }
});

Deno.test("faults: chunk URLs are built under the store URL's path, whatever it holds", async (t) => {
  const dir = await tempDir(t);
  const f = await makeFixture(dir);
  await Deno.rename(f.store, `${dir}/a b%20c`);
  const server = startFaultServer(dir);
  try {
    const run = await runCli(
      ["extract", "-s", `${server.url}/a%20b%2520c`, f.index, `${dir}/out`],
      FLAGS.http,
    );
    assertEquals(run.code, 0, run.stderr);
    assert(server.requests.every((r) => r.path.startsWith("/a%20b%2520c/")), "all under the base");
  } finally {
    await server.close();
    await removeDir(dir);
  }
});

Deno.test("faults: a request Deno's permissions refuse fails at once, naming the flag", async (t) => {
  const dir = await tempDir(t);
  const f = await makeFixture(dir);
  const server = startFaultServer(dir);
  try {
    const port = new URL(server.url).port;
    const run = await runCli(
      ["extract", "-e", "3", "-b", "2s", "-s", `${server.url}/store/`, f.index, `${dir}/out`],
      FLAGS.local,
    );
    assertFailure(run, new RegExp(`: not permitted: needs --allow-net=127\\.0\\.0\\.1:${port}$`));
    assert(run.ms < 5_000, `no back-off before failing (took ${run.ms.toFixed(0)} ms)`);
    const ssh = await runCli(
      ["extract", "-s", `ssh://example.invalid${f.store}`, f.index, `${dir}/out`],
      FLAGS.local,
    );
    assertFailure(
      ssh,
      /^desync: store ssh:\/\/example\.invalid.*: cannot run ssh: not permitted: needs --allow-run=ssh$/,
    );
  } finally {
    await server.close();
    await removeDir(dir);
  }
});

Deno.test("faults: the command parser's errors start with desync: (exit 2)", async () => {
  for (const args of [["extract", "--no-such-flag"], ["no-such-command"], ["extract", "-n"]]) {
    const run = await runCli(args, []);
    assertFailure(run, /^desync: /, 2);
  }
});
