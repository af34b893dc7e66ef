import { createHash } from "node:crypto";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { CodecPool } from "../../src/chunk/codec_pool.ts";
import { ChunkInvalid, ChunkMissing, StoreError } from "../../src/errors.ts";
import { LocalStore } from "../../src/store/local.ts";
import { PLAIN_ONLY } from "../../src/store/store.ts";
import { type ChunkId, chunkIdFromBytes } from "../../src/format/chunk_id.ts";
import { removeDir, runCli, tempDir } from "../helpers.ts";
import { makeChunk, storeConformance } from "./conformance.ts";

storeConformance("local store", async (codec, digest) => {
  const dir = await tempDir();
  const store = await LocalStore.open(dir, { codec, digests: [digest] });
  return {
    store,
    seed: (chunk) => store.storeChunk(chunk),
    async corrupt(id) {
      await Deno.writeFile(store.chunkPath(id), new Uint8Array([1, 2, 3, 4, 5]));
    },
    cleanup: () => removeDir(dir),
  };
}, { writable: true, prunable: true });

/** A test with a fresh directory and a one-lane codec pool, both gone after it. */
function localStoreTest(name: string, fn: (dir: string, codec: CodecPool) => Promise<void>) {
  Deno.test({
    name,
    sanitizeResources: false,
    async fn() {
      const dir = await tempDir();
      const codec = new CodecPool(1);
      try {
        await fn(dir, codec);
      } finally {
        codec.close();
        await removeDir(dir);
      }
    },
  });
}

localStoreTest(
  "local store: layout is <dir>/<4 hex>/<id>.cacnk and no temporary files remain",
  async (dir, codec) => {
    const store = await LocalStore.open(`${dir}/new`, {
      codec,
      digests: ["sha512-256"],
      create: true,
    });
    const chunk = makeChunk(20);
    await store.storeChunk(chunk);
    const names = [...Deno.readDirSync(`${dir}/new/${chunk.id.slice(0, 4)}`)].map((e) => e.name);
    assertEquals(names, [`${chunk.id}.cacnk`]);
    const bytes = await Deno.readFile(`${dir}/new/${chunk.id.slice(0, 4)}/${chunk.id}.cacnk`);
    assertEquals(Array.from(bytes.subarray(0, 4)), [0x28, 0xb5, 0x2f, 0xfd]);
  },
);

Deno.test({
  name: "local store: a missing directory is a StoreError naming it",
  sanitizeResources: false,
  async fn() {
    const codec = new CodecPool(1);
    try {
      const error = await assertRejects(
        () => LocalStore.open("/nonexistent/desync-store", { codec, digests: ["sha256"] }),
        StoreError,
        "/nonexistent/desync-store",
      );
      assert(error.message.includes("no such file"), error.message);
    } finally {
      codec.close();
    }
  },
});

Deno.test({
  name: "local store: prune's removal spares a chunk used since it began; make marks reuse",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await tempDir();
    const codec = new CodecPool(1);
    try {
      const store = await LocalStore.open(`${dir}/s`, {
        codec,
        digests: ["sha512-256"],
        create: true,
      });
      const old = makeChunk(30);
      const fresh = makeChunk(31);
      await store.storeChunk(old);
      await store.storeChunk(fresh);
      const long = new Date(Date.now() - 60_000);
      await Deno.utime(store.chunkPath(old.id), long, long);
      const since = new Date(Date.now() - 30_000);
      assertEquals(await store.removeChunk(fresh.id, { unlessUsedSince: since }), false);
      assertEquals(await store.removeChunk(old.id, { unlessUsedSince: since }), true);
      assertEquals([await store.hasChunk(old.id), await store.hasChunk(fresh.id)], [false, true]);

      // make finds a chunk the store has: it refreshes its time instead of writing it again.
      await Deno.writeFile(`${dir}/blob`, fresh.plain);
      await Deno.utime(store.chunkPath(fresh.id), long, long);
      const made = await runCli([
        "make",
        "-m",
        "16:16:16", // one chunk: the whole blob
        "-s",
        `${dir}/s`,
        `${dir}/i.caibx`,
        `${dir}/blob`,
      ]);
      assertEquals(made.code, 0, made.stderr);
      const mtime = Deno.statSync(store.chunkPath(fresh.id)).mtime!.getTime();
      assert(mtime > since.getTime(), "the reused chunk's time was refreshed");

      // So does tar -i, whose lanes store the chunks of the archive it makes (a "pieces" job
      // carrying their bytes).
      await Deno.utime(store.chunkPath(fresh.id), long, long);
      const stored = await codec.pieces({
        data: fresh.plain.slice(),
        start: 0,
        ends: Float64Array.of(fresh.plain.length),
        digest: "sha512-256",
        mode: "store",
        storeDir: `${dir}/s`,
      });
      assertEquals(
        [chunkIdFromBytes(stored.ids, 0), stored.written[0]],
        [fresh.id, 0],
      );
      const touched = Deno.statSync(store.chunkPath(fresh.id)).mtime!.getTime();
      assert(touched > since.getTime(), "the chunk tar -i found was refreshed");
    } finally {
      codec.close();
      await removeDir(dir);
    }
  },
});

localStoreTest(
  "local store: raw chunks are the files as stored; a FIFO or a huge file is ChunkInvalid",
  async (dir, codec) => {
    const store = await LocalStore.open(dir, { codec, digests: ["sha512-256"] });
    const plainStore = await LocalStore.open(dir, {
      codec,
      digests: ["sha512-256"],
      uncompressed: true,
    });
    const [packed, plain, fifo, huge] = [40, 41, 42, 43].map((seed) => makeChunk(seed));
    await store.storeChunk(packed);
    await plainStore.storeChunk(plain);
    const raw = await store.getRawChunk(packed.id);
    assertEquals([raw.data, raw.compressed], [packed.compressed, true]);
    const rawPlain = await store.getRawChunk(plain.id);
    assertEquals([rawPlain.data, rawPlain.compressed], [plain.plain, false]);
    await assertRejects(() => store.getRawChunk(fifo.id), ChunkMissing);

    await Deno.mkdir(`${dir}/${fifo.id.slice(0, 4)}`, { recursive: true });
    const made = await new Deno.Command("mkfifo", { args: [store.chunkPath(fifo.id)] }).output();
    assert(made.success, "mkfifo");
    // Sparse: 129 MiB named like a chunk, more than casync's largest chunk compressed.
    await Deno.mkdir(`${dir}/${huge.id.slice(0, 4)}`, { recursive: true });
    await Deno.writeFile(store.chunkPath(huge.id), new Uint8Array());
    await Deno.truncate(store.chunkPath(huge.id), 129 << 20);
    const cases: [ChunkId, string][] = [[fifo.id, "a FIFO"], [huge.id, "larger than \\d+ bytes"]];
    for (const [id, kind] of cases) {
      for (const read of [() => store.getRawChunk(id), () => store.getChunk(id)]) {
        const error = await assertRejects(read, ChunkInvalid);
        assert(
          new RegExp(`${store.chunkPath(id)} is ${kind}, not a chunk file`).test(error.message),
          error.message,
        );
      }
    }
  },
);

localStoreTest(
  "local store: a file where a chunk's directory belongs is named with the step that failed",
  async (dir, codec) => {
    const store = await LocalStore.open(dir, { codec, digests: ["sha512-256"] });
    const chunk = makeChunk(21);
    const prefix = `${dir}/${chunk.id.slice(0, 4)}`;
    await Deno.writeTextFile(prefix, "in the way");
    const error = await assertRejects(() => store.storeChunk(chunk), StoreError);
    assert(
      error.message.includes(`writing chunk ${chunk.id}: cannot create directory ${prefix}:`),
      error.message,
    );
    assertEquals(await Deno.readTextFile(prefix), "in the way");
  },
);

Deno.test({
  name: "make: a file where a chunk's directory belongs fails with one line naming it",
  async fn() {
    const dir = await tempDir();
    try {
      // One chunk (below the minimum size): its ID, and so its directory, are sha512-256's.
      const blob = new TextEncoder().encode("a blob of one small chunk\n");
      await Deno.writeFile(`${dir}/blob`, blob);
      const chunkId = createHash("sha512-256").update(blob).digest("hex");
      await Deno.mkdir(`${dir}/store`);
      const prefix = `${dir}/store/${chunkId.slice(0, 4)}`;
      await Deno.writeTextFile(prefix, "in the way");
      const result = await runCli([
        "make",
        "-s",
        `${dir}/store`,
        `${dir}/blob.caibx`,
        `${dir}/blob`,
      ]);
      assertEquals(result.code, 1, result.stderr);
      assertEquals(
        result.stderr.trim(),
        `desync: store ${dir}/store: writing chunk ${chunkId}: ` +
          `cannot create directory ${prefix}: already exists`,
      );
    } finally {
      await removeDir(dir);
    }
  },
});

localStoreTest(
  "local store: a chunk read for its plain data only comes without its zstd frame",
  async (dir, codec) => {
    const store = await LocalStore.open(dir, { codec, digests: ["sha512-256"] });
    const chunk = makeChunk(50);
    await store.storeChunk(chunk);
    const whole = await store.getChunk(chunk.id);
    assertEquals([whole.plain, whole.compressed], [chunk.plain, chunk.compressed]);
    const plainOnly = await store.getChunk(chunk.id, undefined, PLAIN_ONLY);
    assertEquals([plainOnly.plain, plainOnly.compressed], [chunk.plain, undefined]);
  },
);
