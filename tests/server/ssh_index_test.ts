/** Reading an index over SSH when the remote misbehaves: it never waits for good. */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { DesyncError } from "../../src/errors.ts";
import { readIndexOverSsh } from "../../src/server/ssh_index.ts";
import { startIndexServer } from "../../src/server/index_server.ts";
import { parseSshLocation } from "../../src/store/ssh_location.ts";
import { removeDir, tempDir } from "../helpers.ts";

/** An "ssh" that says nothing and ignores SIGTERM (only SIGKILL ends it). */
async function stubbornSsh(dir: string): Promise<string> {
  const path = `${dir}/ssh`;
  await Deno.writeTextFile(path, `#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 0.1; done\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test("ssh index: a silent remote that ignores SIGTERM times out and is killed", async (t) => {
  const dir = await tempDir(t);
  try {
    const sshPath = await stubbornSsh(dir);
    const location = parseSshLocation("ssh://example.invalid/srv/x.caibx");
    const started = performance.now();
    await assertRejects(
      () =>
        readIndexOverSsh(location, { sshPath, remotePath: "casync" }, {
          maxBytes: 1 << 20,
          timeoutMs: 300,
        }),
      DesyncError,
      "no index within 300 ms",
    );
    const seconds = (performance.now() - started) / 1000;
    assert(seconds < 6, `ended after ${seconds.toFixed(1)} s`);

    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("stopped")), 200);
    const aborted = performance.now();
    await assertRejects(
      () =>
        readIndexOverSsh(location, { sshPath, remotePath: "casync" }, {
          maxBytes: 1 << 20,
          timeoutMs: 60_000,
        }, controller.signal),
      Error,
      "stopped",
    );
    assert(performance.now() - aborted < 6000, "the abort ended it");
  } finally {
    await removeDir(dir);
  }
});

/** Whether a process is still there. */
function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test("ssh index: index-server runs at most `sessions` ssh processes; a client leaving ends its own", async (t) => {
  const dir = await tempDir(t);
  // An "ssh" that notes its PID and says nothing.
  const sshPath = `${dir}/ssh`;
  await Deno.writeTextFile(sshPath, `#!/bin/sh\necho $$ >> ${dir}/pids\nexec sleep 60\n`);
  await Deno.chmod(sshPath, 0o755);
  const server = await startIndexServer({
    store: "ssh://example.invalid/srv",
    listen: [{ hostname: "127.0.0.1", port: 0 }],
    writable: false,
    ssh: { sshPath, remotePath: "casync", sessions: 2, timeoutMs: 60_000 },
    limits: { drainTimeoutMs: 500 },
  });
  const port = Number(new URL(server.urls[0]).port);
  const pids = async () =>
    (await Deno.readTextFile(`${dir}/pids`).catch(() => "")).split("\n").filter(Boolean)
      .map(Number);
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    const clients = [];
    for (let i = 0; i < 4; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode(`GET /x${i}.caibx HTTP/1.1\r\nHost: x\r\n\r\n`));
      clients.push(conn);
    }
    for (let i = 0; i < 50 && (await pids()).length < 2; i++) await pause(100);
    await pause(300);
    const started = await pids();
    assertEquals(started.length, 2, "two ssh processes, the other requests wait");
    for (const conn of clients) conn.close();
    // Their ssh processes end at once (not at the 60 s timeout), and the waiting requests never
    // start one.
    for (let i = 0; i < 50 && started.some(alive); i++) await pause(100);
    assertEquals(started.filter(alive), [], "the ssh processes ended");
    await pause(300);
    assertEquals((await pids()).length, 2, "no ssh process for a request whose client left");
  } finally {
    await server.close();
    await removeDir(dir);
  }
});
