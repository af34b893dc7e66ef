/**
 * A request given up on its own (a chunk server's client that goes away while
 * its HEAD waits) leaves its slot taken until the remote answers it or the
 * session ends. Either must free the slot for the requests waiting for one:
 * with one session allowed, a request that waits for it to drain (the same
 * chunk again) or for room (a session that broke) must not wait forever.
 */
import { assertEquals } from "../assert.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { fakeSsh, leftoverProcesses, makeFixture } from "../faults/harness.ts";
import { answerFromStore } from "../fixtures/remote_answer.ts";
import { CodecPool } from "../../src/chunk/codec_pool.ts";
import { encodeHello, Feature } from "../../src/protocol/messages.ts";
import { SshStore } from "../../src/store/ssh.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";

/** Each answer comes this long after its request: long enough to give one up meanwhile. */
const DELAY_MS = 300;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * One session: W answered, then Y asked and X asked and given up while Y
 * waits. `pipe` may cut the remote's output (see fakeSsh).
 */
async function withAbandoned(
  t: Deno.TestContext,
  pipe: ((store: string, ids: ChunkId[]) => Promise<string>) | undefined,
  fn: (store: SshStore, ids: ChunkId[], dir: string) => Promise<void>,
) {
  const dir = await tempDir(t);
  const codec = new CodecPool(1);
  try {
    const fixture = await makeFixture(dir);
    const ids = [...new Set(fixture.ids)];
    const ssh = await fakeSsh(dir, "serve", {
      delayMs: DELAY_MS,
      pipe: pipe && await pipe(fixture.store, ids),
    });
    const store = SshStore.open(`ssh://example.invalid${fixture.store}`, {
      codec,
      digests: ["sha512-256"],
      ssh: { sshPath: ssh, remotePath: "casync", sessions: 1 },
    });
    try {
      const [w, y, x] = ids;
      assertEquals((await store.getChunk(w)).plain.length, 64 << 10);
      const gone = new AbortController();
      const first = store.getChunk(y);
      const abandoned = store.hasChunk(x, gone.signal);
      await new Promise((resolve) => setTimeout(resolve, 50));
      gone.abort(new Error("the client went away"));
      await abandoned.catch(() => {});
      assertEquals((await first).plain.length, 64 << 10);
      await fn(store, ids, dir);
    } finally {
      await store.close();
    }
  } finally {
    codec.close();
    await removeDir(dir);
  }
}

Deno.test("ssh store: the answer to a request given up frees its session for a request waiting for it", async (t) => {
  await withAbandoned(t, undefined, async (store, [, , x]) => {
    // X was asked of the one session: asked again, it waits for that session to drain and
    // takes a fresh one. The drain is the abandoned answer, which must wake it.
    const again = await within(store.getChunk(x), 4 * DELAY_MS + 3000, "X asked again");
    assertEquals(again.plain.length, 64 << 10);
  });
});

Deno.test("ssh store: a session that ends with only requests given up is replaced", async (t) => {
  // The remote's output ends right after the answers to W and Y, while X (given up) waits
  // (unbuffered: head would otherwise hold even HELLO until it exits).
  const cut = async (storeDir: string, ids: ChunkId[]) => {
    const [w, y] = ids;
    const bytes = encodeHello(Feature.READABLE_STORE).length +
      (await answerFromStore(storeDir, w)).length + (await answerFromStore(storeDir, y)).length;
    return `| stdbuf -o0 head -c ${bytes}`;
  };
  await withAbandoned(t, cut, async (store, ids, dir) => {
    const z = ids[3];
    // The session ends when the stand-in does (its sh holds the pipe open until X's answer
    // fails to be written); then its end is read.
    assertEquals(await leftoverProcesses(dir), [], "the cut session ended");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const chunk = await within(
      store.getChunk(z),
      4 * DELAY_MS + 3000,
      "Z, after the session ended",
    );
    assertEquals(chunk.plain.length, 64 << 10);
  });
});
