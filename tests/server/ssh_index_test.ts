/** Reading an index over SSH when the remote misbehaves: it never waits for good. */
import { assert, assertRejects } from "../assert.ts";
import { DesyncError } from "../../src/errors.ts";
import { readIndexOverSsh } from "../../src/server/ssh_index.ts";
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
