/**
 * A cache (-c) that cannot be written, full or read-only: the chunks come from
 * the stores anyway, so the command succeeds with one warning naming the cache,
 * the chunk, the path and the operation, and the cache holds only whole,
 * valid chunks (Go desync fails the command instead; see the README).
 */
import { assert, assertBytesEqual, assertEquals, assertMatch, assertRejects } from "../assert.ts";
import { ChunkMissing, StoreError } from "../../src/errors.ts";
import { CachedStore } from "../../src/store/cache.ts";
import type { Chunk, Store, WriteStore } from "../../src/store/store.ts";
import { startServerProcess } from "../server/serve_helpers.ts";
import { makeChunk } from "../store/conformance.ts";
import { assertBlob, type Fixture, FLAGS, type Run, runCli } from "./harness.ts";
import { assertStoreSound, NO_SPACE, remountReadOnly, tmpfsTest } from "./tmpfs.ts";

/** Exit 0, and one warning line (matching `pattern`) on stderr. */
function assertWarned(run: Run, pattern: RegExp) {
  assertEquals(run.code, 0, `exit code; stderr: ${run.stderr}`);
  const lines = run.stderr.trim().split("\n");
  assertEquals(lines.length, 1, `one line on stderr, got: ${run.stderr}`);
  assertMatch(lines[0], /^desync: warning: /);
  assertMatch(lines[0], pattern);
}

function cacheWarning(cache: string, reason: string): RegExp {
  return new RegExp(
    `^desync: warning: store ${cache}: writing chunk [0-9a-f]{64}: ` +
      `cannot (create directory|write) ${cache}/\\S+: ${reason}; ` +
      "going on without caching what the cache cannot take$",
  );
}

/** Copies the first `count` chunk files of the fixture's store into `cache`. */
async function seedCache(f: Fixture, cache: string, count: number) {
  for (const id of f.ids.slice(0, count)) {
    await Deno.mkdir(`${cache}/${id.slice(0, 4)}`, { recursive: true });
    await Deno.copyFile(
      `${f.store}/${id.slice(0, 4)}/${id}.cacnk`,
      `${cache}/${id.slice(0, 4)}/${id}.cacnk`,
    );
  }
}

for (const command of ["extract", "cat"]) {
  tmpfsTest(
    `${command} with a cache on a full disk takes the chunks from the store`,
    { size: "1m" },
    async (f, small) => {
      const cache = `${small}/cache`;
      const out = `${f.dir}/out`;
      const run = await runCli([command, "-s", f.store, "-c", cache, f.index, out], FLAGS.local);
      assertWarned(run, cacheWarning(cache, NO_SPACE));
      await assertBlob(out, f);
      const cached = assertStoreSound(cache);
      // The 1 MiB cache took some of the 2 MiB of incompressible chunks, not all.
      if (cached === 0 || cached >= new Set(f.ids).size) {
        throw new Error(`the cache should hold some chunks, holds ${cached}`);
      }
    },
  );
}

tmpfsTest(
  "extract with a read-only cache uses its chunks and fetches the rest",
  { size: "4m" },
  async (f, small) => {
    const cache = `${small}/cache`;
    await seedCache(f, cache, 8);
    await remountReadOnly(small);
    const out = `${f.dir}/out`;
    const run = await runCli(["extract", "-s", f.store, "-c", cache, f.index, out], FLAGS.local);
    assertWarned(run, cacheWarning(cache, "read-only file system"));
    await assertBlob(out, f);
    // Chunk 7 repeats chunk 3: seven chunk files, as before.
    assertEquals(assertStoreSound(cache), new Set(f.ids.slice(0, 8)).size);
  },
);

tmpfsTest(
  "untar -i with a cache on a full disk takes the chunks from the store",
  { size: "1m" },
  async (f, small) => {
    // The fixture's blob as the one file of a tree, archived into the fixture's store.
    const tree = `${f.dir}/tree`;
    await Deno.mkdir(tree);
    await Deno.copyFile(f.blob, `${tree}/blob`);
    const caidx = `${f.dir}/tree.caidx`;
    const made = await runCli(["tar", "-i", "-s", f.store, caidx, tree], FLAGS.local);
    assertEquals(made.code, 0, made.stderr);
    const cache = `${small}/cache`;
    const out = `${f.dir}/untarred`;
    const run = await runCli(["untar", "-i", "-s", f.store, "-c", cache, caidx, out], FLAGS.local);
    assertWarned(run, cacheWarning(cache, NO_SPACE));
    await assertBlob(`${out}/blob`, f);
    assertStoreSound(cache);
  },
);

tmpfsTest(
  "chunk-server with a cache on a full disk serves every chunk",
  { size: "1m" },
  async (f, small) => {
    const cache = `${small}/cache`;
    const server = await startServerProcess(
      ["chunk-server", "-s", f.store, "-c", cache, "-l", "127.0.0.1:0"],
      ["--allow-net=127.0.0.1", "--allow-read", "--allow-write"],
    );
    let stopped;
    try {
      const out = `${f.dir}/out`;
      const run = await runCli(["extract", "-s", server.url, f.index, out], FLAGS.http);
      assertEquals(run.code, 0, run.stderr);
      await assertBlob(out, f);
    } finally {
      stopped = await server.stop("SIGTERM");
    }
    assertEquals(stopped.code, 0, stopped.stderr);
    // Once per serving thread, each with its own store chain.
    const warnings = stopped.stderr.split("\n").filter((line) => /warning/.test(line));
    assert(warnings.length > 0, `a warning; stderr: ${stopped.stderr}`);
    for (const warning of warnings) {
      assertMatch(warning, new RegExp(`^desync: chunk-server: warning: store ${cache}: `));
      assertMatch(warning, new RegExp(`${NO_SPACE}; serving without caching`));
    }
    assertStoreSound(cache);
  },
);

/** A cache whose every write fails as a full disk does. */
function fullCache(writes: { count: number }): WriteStore {
  return {
    name: "full-cache",
    getChunk: (id) => Promise.reject(new ChunkMissing(id, "full-cache")),
    hasChunk: () => Promise.resolve(false),
    storeChunk: (chunk) => {
      writes.count++;
      return Promise.reject(new StoreError("full-cache", `writing chunk ${chunk.id}: ${NO_SPACE}`));
    },
    close: () => Promise.resolve(),
  };
}

function upstreamOf(chunks: Chunk[]): Store {
  const byId = new Map(chunks.map((chunk) => [chunk.id, chunk]));
  return {
    name: "upstream",
    getChunk: (id) => {
      const chunk = byId.get(id);
      return chunk ? Promise.resolve(chunk) : Promise.reject(new ChunkMissing(id, "upstream"));
    },
    hasChunk: (id) => Promise.resolve(byId.has(id)),
    close: () => Promise.resolve(),
  };
}

Deno.test("faults: a cache that cannot be written fails the read unless told to go on", async () => {
  const chunks = [makeChunk(61), makeChunk(62)];
  const writes = { count: 0 };
  const strict = new CachedStore(fullCache(writes), upstreamOf(chunks));
  await assertRejects(() => strict.getChunk(chunks[0].id), StoreError, NO_SPACE);

  const reported: StoreError[] = [];
  const lenient = new CachedStore(fullCache(writes), upstreamOf(chunks), {
    onWriteError: (error) => reported.push(error),
  });
  for (const chunk of chunks) {
    assertBytesEqual((await lenient.getChunk(chunk.id)).plain, chunk.plain);
  }
  // Every chunk is offered to the cache (space may come back); the first failure is reported.
  assertEquals(writes.count, 3);
  assertEquals(reported.map((error) => error.message), [
    `store full-cache: writing chunk ${chunks[0].id}: ${NO_SPACE}`,
  ]);
});
