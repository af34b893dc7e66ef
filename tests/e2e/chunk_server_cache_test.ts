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
import { removeDir, runCli, sha256sum, tempDir } from "../helpers.ts";
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

Deno.test({
  name: "chunk-server -c --skip-verify-read=false: a corrupt chunk in the cache is fetched " +
    "again, replaced and served",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const f = await warmCacheWithBadChunk(dir);
      const server = await startServerProcess(
        [
          "chunk-server",
          "-s",
          f.store,
          "-c",
          f.cache,
          "--skip-verify-read=false",
          "-l",
          "127.0.0.1:0",
        ],
        SERVE_CACHED,
      );
      let stopped;
      try {
        const out = await runCli(["extract", "-s", server.url, f.index, `${dir}/out`], CLIENT);
        assertEquals(out.code, 0, out.stderr);
      } finally {
        stopped = await server.stop();
      }
      assertEquals(stopped.code, 0, stopped.stderr);
      assertEquals(await sha256sum(`${dir}/out`), await sha256sum(f.blob));
      assert(await isValidChunkFile(chunkFile(f.cache, f.bad), f.bad), "the cache file repaired");
    } finally {
      await removeDir(dir);
    }
  },
});

Deno.test({
  name: "chunk-server -c --skip-verify-read=false --cache-repair=false: a corrupt cached chunk " +
    "is an error naming the chunk and its file, not served",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const f = await warmCacheWithBadChunk(dir);
      const corrupt = await Deno.readFile(chunkFile(f.cache, f.bad));
      const server = await startServerProcess(
        [
          "chunk-server",
          "-s",
          f.store,
          "-c",
          f.cache,
          "--skip-verify-read=false",
          "--cache-repair=false",
          "-l",
          "127.0.0.1:0",
        ],
        SERVE_CACHED,
      );
      let stopped;
      try {
        const answer = await fetch(`${server.url}${f.bad.slice(0, 4)}/${f.bad}.cacnk`);
        const body = new Uint8Array(await answer.arrayBuffer());
        assert(answer.status >= 500, `status ${answer.status}`);
        assert(!same(body, corrupt), "the bad bytes are not sent");
        assertMatch(new TextDecoder().decode(body), new RegExp(`chunk ${f.bad} is invalid`));
        const out = await runCli(
          ["extract", "-e", "0", "-s", server.url, f.index, `${dir}/out`],
          CLIENT,
        );
        assertEquals(out.code, 1, out.stderr);
        assertMatch(out.stderr, new RegExp(`^desync: .*${f.bad}`, "m"));
      } finally {
        stopped = await server.stop();
      }
      assertEquals(stopped.code, 0, stopped.stderr);
      assertMatch(
        stopped.stderr,
        new RegExp(`^desync: chunk-server: .*chunk ${f.bad}.*${chunkFile(f.cache, f.bad)}`, "m"),
      );
      assertEquals(await Deno.readFile(chunkFile(f.cache, f.bad)), corrupt, "left as it was");
    } finally {
      await removeDir(dir);
    }
  },
});

Deno.test({
  name: "chunk-server --skip-verify-read=false: a corrupt chunk of a local store is an error, " +
    "the valid ones are served",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const f = await casyncMake(dir, { name: "verified", size: 2 << 20, kind: "random" });
      const [bad, good] = storeIds(f.store).sort();
      const file = chunkFile(f.store, bad);
      const data = await Deno.readFile(file);
      // A bit flipped in the middle of the frame.
      data[data.length >> 1] ^= 0x10;
      await Deno.writeFile(file, data);
      const server = await startServerProcess(
        ["chunk-server", "-s", f.store, "--skip-verify-read=false", "-l", "127.0.0.1:0"],
        SERVE,
      );
      let stopped;
      try {
        const answer = await fetch(`${server.url}${bad.slice(0, 4)}/${bad}.cacnk`);
        const body = new Uint8Array(await answer.arrayBuffer());
        assert(answer.status >= 500, `status ${answer.status}`);
        assert(!same(body, data), "the bad bytes are not sent");
        const served = await fetch(`${server.url}${good.slice(0, 4)}/${good}.cacnk`);
        assertEquals(served.status, 200);
        assertEquals(
          new Uint8Array(await served.arrayBuffer()),
          await Deno.readFile(chunkFile(f.store, good)),
        );
      } finally {
        stopped = await server.stop();
      }
      assertEquals(stopped.code, 0, stopped.stderr);
      assertMatch(
        stopped.stderr,
        new RegExp(`^desync: chunk-server: .*chunk ${bad}.*invalid`, "m"),
      );
    } finally {
      await removeDir(dir);
    }
  },
});

Deno.test({
  name: "chunk-server -c, default flags: a corrupt cached chunk is served as stored (as Go " +
    "desync does) and the client refuses it, naming the chunk",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const f = await warmCacheWithBadChunk(dir);
      const corrupt = await Deno.readFile(chunkFile(f.cache, f.bad));
      const server = await startServerProcess(
        ["chunk-server", "-s", f.store, "-c", f.cache, "-l", "127.0.0.1:0"],
        SERVE_CACHED,
      );
      let stopped;
      try {
        const answer = await fetch(`${server.url}${f.bad.slice(0, 4)}/${f.bad}.cacnk`);
        assertEquals(answer.status, 200);
        assertEquals(new Uint8Array(await answer.arrayBuffer()), corrupt);
        const out = await runCli(
          ["extract", "-e", "0", "-s", server.url, f.index, `${dir}/out`],
          CLIENT,
        );
        assertEquals(out.code, 1, out.stderr);
        assertMatch(out.stderr, new RegExp(`^desync: .*${f.bad}.*`, "m"));
        assertEquals(await Deno.stat(`${dir}/out`).catch(() => undefined), undefined);
      } finally {
        stopped = await server.stop();
      }
      assertEquals(stopped.code, 0, stopped.stderr);
    } finally {
      await removeDir(dir);
    }
  },
});
