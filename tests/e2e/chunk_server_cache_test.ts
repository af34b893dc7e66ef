/**
 * chunk-server's cache (`-c`) and its verification flags, run as the user runs
 * them. As in Go desync, local files are served as stored by default (the client
 * verifies); with `--skip-verify-read=false` they are verified first, and a
 * corrupt chunk in the cache is replaced from the stores (`-r`, on by default)
 * or refused (`--cache-repair=false`). casync makes the stores; the blob
 * itself (through sha256sum) says what an extract must produce.
 */
import { createHash } from "node:crypto";
import { zstdDecompressSync } from "node:zlib";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { runCli, sha256sum, tempDirTest } from "../helpers.ts";
import { CASYNC_MISSING, casyncMake, storeIds } from "../interop/casync_fixture.ts";
import { startServerProcess } from "../server/serve_helpers.ts";

const SERVE_CACHED = ["--allow-net=127.0.0.1", "--allow-read", "--allow-write"];
const SERVE = ["--allow-net=127.0.0.1", "--allow-read"];
const CLIENT = ["--allow-read", "--allow-write", "--allow-net=127.0.0.1"];

/** Whether two byte arrays hold the same bytes. */
const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

const chunkFile = (store: string, id: string) => `${store}/${id.slice(0, 4)}/${id}.cacnk`;

/** Whether a chunk file decodes to data whose SHA512/256 (casync's default) is its ID. */
async function isValidChunkFile(path: string, id: string): Promise<boolean> {
  try {
    const plain = zstdDecompressSync(await Deno.readFile(path));
    return createHash("sha512-256").update(plain).digest("hex") === id;
  } catch {
    return false;
  }
}

/**
 * A casync-made blob and store, a warm cache holding a copy of the store, and one
 * chunk whose cache file is replaced by another chunk's (a valid zstd frame of the
 * wrong data, which only the hash check catches).
 */
async function warmCacheWithBadChunk(dir: string) {
  const f = await casyncMake(dir, { name: "cached", size: 3 << 20, kind: "random" });
  const cache = `${dir}/cache`;
  const ids = storeIds(f.store).sort();
  assert(ids.length > 4, "enough chunks");
  for (const id of ids) {
    await Deno.mkdir(`${cache}/${id.slice(0, 4)}`, { recursive: true });
    await Deno.copyFile(chunkFile(f.store, id), chunkFile(cache, id));
  }
  const [bad, other] = ids;
  await Deno.copyFile(chunkFile(f.store, other), chunkFile(cache, bad));
  return { ...f, cache, bad };
}

/**
 * Runs `desync chunk-server ARGS -l 127.0.0.1:0` around `fn` (given its URL); its
 * exit status must be 0 (a clean stop), and its stderr is returned.
 */
async function withServer(
  args: string[],
  permissions: string[],
  fn: (url: string) => Promise<void>,
): Promise<string> {
  const server = await startServerProcess(
    ["chunk-server", ...args, "-l", "127.0.0.1:0"],
    permissions,
  );
  let stopped;
  try {
    await fn(server.url);
  } finally {
    stopped = await server.stop();
  }
  assertEquals(stopped.code, 0, stopped.stderr);
  return stopped.stderr;
}

const chunkUrl = (url: string, id: string) => `${url}${id.slice(0, 4)}/${id}.cacnk`;

tempDirTest(
  "chunk-server -c --skip-verify-read=false: a corrupt chunk in the cache is fetched again, " +
    "replaced and served",
  async (dir) => {
    const f = await warmCacheWithBadChunk(dir);
    const args = ["-s", f.store, "-c", f.cache, "--skip-verify-read=false"];
    await withServer(args, SERVE_CACHED, async (url) => {
      const out = await runCli(["extract", "-s", url, f.index, `${dir}/out`], CLIENT);
      assertEquals(out.code, 0, out.stderr);
    });
    assertEquals(await sha256sum(`${dir}/out`), await sha256sum(f.blob));
    assert(await isValidChunkFile(chunkFile(f.cache, f.bad), f.bad), "the cache file repaired");
  },
  CASYNC_MISSING,
);

tempDirTest(
  "chunk-server -c --skip-verify-read=false --cache-repair=false: a corrupt cached chunk is an " +
    "error naming the chunk and its file, not served",
  async (dir) => {
    const f = await warmCacheWithBadChunk(dir);
    const corrupt = await Deno.readFile(chunkFile(f.cache, f.bad));
    const args = ["-s", f.store, "-c", f.cache, "--skip-verify-read=false", "--cache-repair=false"];
    const stderr = await withServer(args, SERVE_CACHED, async (url) => {
      const answer = await fetch(chunkUrl(url, f.bad));
      const body = new Uint8Array(await answer.arrayBuffer());
      assert(answer.status >= 500, `status ${answer.status}`);
      assert(!same(body, corrupt), "the bad bytes are not sent");
      assertMatch(new TextDecoder().decode(body), new RegExp(`chunk ${f.bad} is invalid`));
      const out = await runCli(["extract", "-e", "0", "-s", url, f.index, `${dir}/out`], CLIENT);
      assertEquals(out.code, 1, out.stderr);
      assertMatch(out.stderr, new RegExp(`^desync: .*${f.bad}`, "m"));
    });
    assertMatch(
      stderr,
      new RegExp(`^desync: chunk-server: .*chunk ${f.bad}.*${chunkFile(f.cache, f.bad)}`, "m"),
    );
    assertEquals(await Deno.readFile(chunkFile(f.cache, f.bad)), corrupt, "left as it was");
  },
  CASYNC_MISSING,
);

tempDirTest(
  "chunk-server --skip-verify-read=false: a corrupt chunk of a local store is an error, the " +
    "valid ones are served",
  async (dir) => {
    const f = await casyncMake(dir, { name: "verified", size: 2 << 20, kind: "random" });
    const [bad, good] = storeIds(f.store).sort();
    const file = chunkFile(f.store, bad);
    const data = await Deno.readFile(file);
    // A bit flipped in the middle of the frame.
    data[data.length >> 1] ^= 0x10;
    await Deno.writeFile(file, data);
    const stderr = await withServer(
      ["-s", f.store, "--skip-verify-read=false"],
      SERVE,
      async (url) => {
        const answer = await fetch(chunkUrl(url, bad));
        const body = new Uint8Array(await answer.arrayBuffer());
        assert(answer.status >= 500, `status ${answer.status}`);
        assert(!same(body, data), "the bad bytes are not sent");
        const served = await fetch(chunkUrl(url, good));
        assertEquals(served.status, 200);
        assertEquals(
          new Uint8Array(await served.arrayBuffer()),
          await Deno.readFile(chunkFile(f.store, good)),
        );
      },
    );
    assertMatch(stderr, new RegExp(`^desync: chunk-server: .*chunk ${bad}.*invalid`, "m"));
  },
  CASYNC_MISSING,
);

tempDirTest(
  "chunk-server -c, default flags: a corrupt cached chunk is served as stored (as Go desync " +
    "does) and the client refuses it, naming the chunk",
  async (dir) => {
    const f = await warmCacheWithBadChunk(dir);
    const corrupt = await Deno.readFile(chunkFile(f.cache, f.bad));
    await withServer(["-s", f.store, "-c", f.cache], SERVE_CACHED, async (url) => {
      const answer = await fetch(chunkUrl(url, f.bad));
      assertEquals(answer.status, 200);
      assertEquals(new Uint8Array(await answer.arrayBuffer()), corrupt);
      const out = await runCli(["extract", "-e", "0", "-s", url, f.index, `${dir}/out`], CLIENT);
      assertEquals(out.code, 1, out.stderr);
      assertMatch(out.stderr, new RegExp(`^desync: .*${f.bad}`, "m"));
      assertEquals(await Deno.stat(`${dir}/out`).catch(() => undefined), undefined);
    });
  },
  CASYNC_MISSING,
);

tempDirTest(
  "chunk-server -c: a chunk served from the cache has its file's time refreshed, verified or not",
  async (dir) => {
    const f = await warmCacheWithBadChunk(dir);
    const [, id] = storeIds(f.cache).filter((other) => other !== f.bad).sort();
    const file = chunkFile(f.cache, id);
    const old = new Date("2001-01-01T00:00:00Z");
    for (const verify of [[], ["--skip-verify-read=false"]]) {
      await Deno.utime(file, old, old);
      await withServer(["-s", f.store, "-c", f.cache, ...verify], SERVE_CACHED, async (url) => {
        const answer = await fetch(chunkUrl(url, id));
        assertEquals(answer.status, 200);
        assertEquals(
          new Uint8Array(await answer.arrayBuffer()),
          await Deno.readFile(chunkFile(f.store, id)),
        );
      });
      const mtime = (await Deno.stat(file)).mtime!;
      assert(mtime.getTime() > old.getTime(), `time refreshed (${verify.join(" ")})`);
    }
  },
  CASYNC_MISSING,
);
