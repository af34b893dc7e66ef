/**
 * How many ssh processes an SSH store starts: one while its requests fit in one
 * session's pipeline, another only when every session is full (each costs a
 * handshake and a remote casync), never more than `sessions`.
 */
import { assertEquals } from "../assert.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { fakeSsh, makeFixture } from "../faults/harness.ts";
import { CodecPool } from "../../src/chunk/codec_pool.ts";
import { SshStore } from "../../src/store/ssh.ts";

/** Asks for `requests` distinct chunks at once; the ssh processes started, and the chunks' sizes. */
async function ask(requests: number, sessions: number) {
  const dir = await tempDir();
  const codec = new CodecPool(1);
  try {
    const fixture = await makeFixture(dir);
    const log = `${dir}/started`;
    // Each answer waits 50 ms, so every request made at once is still in flight when the last is.
    const ssh = await fakeSsh(dir, "serve", { delayMs: 50, prelude: `echo . >> '${log}'` });
    const store = SshStore.open(`ssh://example.invalid${fixture.store}`, {
      codec,
      digests: ["sha512-256"],
      ssh: { sshPath: ssh, remotePath: "casync", sessions },
    });
    const ids = [...new Set(fixture.ids)].slice(0, requests);
    assertEquals(ids.length, requests, "the fixture has enough distinct chunks");
    try {
      const chunks = await Promise.all(ids.map((id) => store.getChunk(id)));
      const started = (await Deno.readTextFile(log)).trim().split("\n").length;
      return { started, sizes: chunks.map((chunk) => chunk.plain.length) };
    } finally {
      await store.close();
    }
  } finally {
    codec.close();
    await removeDir(dir);
  }
}

Deno.test("ssh sessions: sixteen requests in flight share one session, a seventeenth starts another", async () => {
  const sixteen = await ask(16, 10);
  assertEquals(sixteen.started, 1);
  // makeFixture cuts 64 KiB chunks: each came back whole.
  assertEquals(sixteen.sizes, Array(16).fill(64 << 10));
  assertEquals((await ask(17, 10)).started, 2);
});

Deno.test("ssh sessions: with one session allowed, requests past its pipeline wait their turn", async () => {
  const asked = await ask(20, 1);
  assertEquals(asked.started, 1);
  assertEquals(asked.sizes, Array(20).fill(64 << 10));
});
