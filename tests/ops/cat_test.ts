/**
 * cat as a library call, from local stores, whose chunks the lanes read in
 * runs: every byte range comes out as the blob holds it, a chunk the first
 * store lacks comes from the next, and a bad or missing chunk fails after
 * exactly the bytes before it.
 */
import { createHash } from "node:crypto";
import { assertBytesEqual, assertEquals, assertRejects } from "../assert.ts";
import { ChunkInvalid, ChunkMissing, DesyncError } from "../../src/errors.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import type { Index } from "../../src/format/index.ts";
import type { CodecPool } from "../../src/chunk/codec_pool.ts";
import { cat } from "../../src/ops/cat.ts";
import { zeroChunkIds } from "../../src/ops/extract.ts";
import { LocalStore } from "../../src/store/local.ts";
import { StoreRouter } from "../../src/store/router.ts";
import type { Chunk, ChunkWant, Store } from "../../src/store/store.ts";
import { concatBytes } from "../../src/util/bytes.ts";
import { sleep } from "../../src/util/tasks.ts";
import { assert } from "../assert.ts";
import { codecTest, indexOfPieces, pseudoRandom } from "../helpers.ts";

const MAX = 8192;
const CHUNKS = 150;

/** 150 chunks of 1000 to 8191 bytes, every 17th all zeros (MAX long): several runs of 32. */
function blobAndIndex(
  count = CHUNKS,
): { data: Uint8Array; index: Index; pieces: Uint8Array[] } {
  const pieces = Array.from(
    { length: count },
    (_, k) => k % 17 === 5 ? new Uint8Array(MAX) : pseudoRandom(1000 + (k * 7919) % 7192, k + 1),
  );
  return { ...indexOfPieces(pieces, MAX), pieces };
}

/** A local store holding every piece but those `skip` names. */
async function storeWith(
  dir: string,
  codec: CodecPool,
  pieces: Uint8Array[],
  index: Index,
  skip: (k: number) => boolean,
) {
  const store = await LocalStore.open(dir, { codec, digests: ["sha512-256"], create: true });
  for (let k = 0; k < pieces.length; k++) {
    if (!skip(k)) await store.storeChunk({ id: index.chunks[k].id, plain: pieces[k] });
  }
  return store;
}

/** What cat writes, and how it ended. */
async function catted(options: Omit<Parameters<typeof cat>[0], "write">) {
  const parts: Uint8Array[] = [];
  const write = (bytes: Uint8Array) => {
    parts.push(bytes.slice());
    return Promise.resolve();
  };
  const ended = cat({ ...options, write }).then(() => null, (error) => error);
  const error = await ended;
  return { bytes: concatBytes(parts), error };
}

codecTest(
  "cat from a local store: any byte range, zero chunks asked or not",
  async (dir, codec) => {
    const { data, index, pieces } = blobAndIndex();
    // The zero chunk is in the store too: without zeroIds it is read like the others.
    const store = await storeWith(`${dir}/store`, codec, pieces, index, () => false);
    const zeroIds = new Set((await zeroChunkIds(index, codec)).values());
    const ranges = [
      [0, undefined],
      [1, 5],
      [index.chunks[31].start + 10, index.chunks[33].start - index.chunks[31].start],
      [index.chunks[64].start, 1],
      [data.length - 3, undefined],
      [data.length, undefined],
    ] as const;
    for (const ids of [undefined, zeroIds]) {
      for (const [offset, length] of ranges) {
        const { bytes, error } = await catted({
          index,
          store,
          codec,
          concurrency: 4,
          offset,
          length,
          zeroIds: ids,
        });
        assertEquals(error, null);
        const end = length === undefined ? data.length : offset + length;
        assertBytesEqual(bytes, data.subarray(offset, end), `${offset}+${length}`);
      }
    }
  },
);

codecTest("cat asks the next store for a chunk the first local store lacks", async (dir, codec) => {
  const { data, index, pieces } = blobAndIndex();
  const first = await storeWith(`${dir}/first`, codec, pieces, index, (k) => k === 40 || k === 99);
  const second = await storeWith(
    `${dir}/second`,
    codec,
    pieces,
    index,
    (k) => k !== 40 && k !== 99,
  );
  const store = new StoreRouter([first, second]);
  const { bytes, error } = await catted({ index, store, codec, concurrency: 4 });
  assertEquals(error, null);
  assertBytesEqual(bytes, data);
});

codecTest(
  "cat stops at a bad or missing chunk, after exactly the bytes before it",
  async (dir, codec) => {
    const { data, index, pieces } = blobAndIndex();
    const bad = 70; // in the third run, not its first chunk
    const store = await storeWith(`${dir}/store`, codec, pieces, index, (k) => k === 120);
    const path = store.chunkPath(index.chunks[bad].id);
    const file = await Deno.readFile(path);
    file[file.length - 1] ^= 1; // the last byte of a raw block: its data no longer hashes to the ID
    await Deno.writeFile(path, file);
    const broken = await catted({ index, store, codec, concurrency: 4 });
    assertBytesEqual(broken.bytes, data.subarray(0, index.chunks[bad].start));
    await assertRejects(() => Promise.reject(broken.error), ChunkInvalid, index.chunks[bad].id);
    const tail = await catted({
      index,
      store,
      codec,
      concurrency: 4,
      offset: index.chunks[100].start,
    });
    assertBytesEqual(tail.bytes, data.subarray(index.chunks[100].start, index.chunks[120].start));
    await assertRejects(() => Promise.reject(tail.error), ChunkMissing, index.chunks[120].id);
  },
);

codecTest(
  "cat from a local store: a directory or an oversized file under a chunk's name fails as that chunk, after the bytes before it",
  async (dir, codec) => {
    const { data, index, pieces } = blobAndIndex();
    const bad = 70; // in the third run, not its first chunk
    const { id, start, size } = index.chunks[bad];
    for (const kind of ["directory", "oversized file"]) {
      const store = await storeWith(`${dir}/${kind}`, codec, pieces, index, (k) => k === bad);
      const path = store.chunkPath(id);
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      if (kind === "directory") await Deno.mkdir(path);
      else await Deno.writeFile(path, pseudoRandom(4 * size + 4096, 9));
      const { bytes, error } = await catted({ index, store, codec, concurrency: 4 });
      assertBytesEqual(bytes, data.subarray(0, start), kind);
      await assertRejects(
        () => Promise.reject(error),
        ChunkInvalid,
        `chunk ${id} in store ${dir}/`,
      );
      if (kind === "directory") {
        await assertRejects(() => Promise.reject(error), ChunkInvalid, "is a directory");
      }
    }
  },
);

codecTest(
  "cat from a local store: an index that lies about a chunk's size blames the index, not the store",
  async (dir, codec) => {
    const { data, index, pieces } = blobAndIndex();
    const bad = 40; // the data is intact: only the boundary between chunks 40 and 41 moved
    const store = await storeWith(`${dir}/store`, codec, pieces, index, () => false);
    const chunks = index.chunks.map((chunk) => ({ ...chunk }));
    chunks[bad].size -= 1;
    chunks[bad + 1].start -= 1;
    chunks[bad + 1].size += 1;
    const { bytes, error } = await catted({
      index: { ...index, chunks },
      store,
      codec,
      concurrency: 4,
    });
    assertBytesEqual(bytes, data.subarray(0, chunks[bad].start));
    const { id, size } = chunks[bad];
    await assertRejects(
      () => Promise.reject(error),
      DesyncError,
      `chunk ${id} holds ${size + 1} bytes, the index says ${size}`,
    );
    assert(!(error instanceof ChunkInvalid), `the store's chunk is valid: ${error}`);
  },
);

/** A store that answers slowly, counting the requests it has in flight at once. */
class SlowStore implements Store {
  readonly name = "slow";
  inFlight = 0;
  mostInFlight = 0;
  constructor(readonly inner: Store) {}
  async getChunk(id: ChunkId, signal?: AbortSignal, want?: ChunkWant): Promise<Chunk> {
    this.mostInFlight = Math.max(this.mostInFlight, ++this.inFlight);
    try {
      await sleep(5, signal);
      return await this.inner.getChunk(id, signal, want);
    } finally {
      this.inFlight--;
    }
  }
  hasChunk(id: ChunkId, signal?: AbortSignal): Promise<boolean> {
    return this.inner.hasChunk(id, signal);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

codecTest(
  "cat asks the next stores for what the first local store lacks -n at a time, as without it",
  async (dir, codec) => {
    const { data, index, pieces } = blobAndIndex();
    const first = await storeWith(`${dir}/first`, codec, pieces, index, (k) => k % 10 !== 0);
    const slow = new SlowStore(await storeWith(`${dir}/second`, codec, pieces, index, () => false));
    const { bytes, error } = await catted({
      index,
      store: new StoreRouter([first, slow]),
      codec,
      concurrency: 4,
    });
    assertEquals(error, null);
    assertBytesEqual(bytes, data);
    assertEquals(slow.mostInFlight, 4);
  },
);

codecTest(
  "cat from a local store: ranges starting and ending at every chunk edge, runs ended by bytes",
  async (dir, codec) => {
    // 100-700 KiB chunks: a run ends at its byte budget, and some chunks exceed it alone.
    const pieces = Array.from({ length: 12 }, (_, k) => pseudoRandom(100_000 + k * 53_000, k + 7));
    const { data, index } = indexOfPieces(pieces, 1 << 20);
    const chunks = index.chunks;
    const store = await storeWith(`${dir}/store`, codec, pieces, index, () => false);
    const edges = new Set([0, data.length]);
    for (const chunk of chunks) {
      for (const at of [chunk.start - 1, chunk.start, chunk.start + 1]) {
        if (at >= 0 && at <= data.length) edges.add(at);
      }
    }
    const points = [...edges].sort((a, b) => a - b);
    for (const [i, offset] of points.entries()) {
      for (const end of [undefined, ...points.slice(i).filter((_, k) => k % 3 === 0)]) {
        const length = end === undefined ? undefined : end - offset;
        const { bytes, error } = await catted({
          index,
          store,
          codec,
          concurrency: 2,
          offset,
          length,
        });
        assertEquals(error, null);
        assertBytesEqual(bytes, data.subarray(offset, end), `${offset}+${length}`);
      }
    }
  },
);

codecTest(
  "cat from a local store: a SHA-256 index, chunks as Go desync's plain <id> files",
  async (dir, codec) => {
    const { data, index, pieces } = blobAndIndex();
    const chunks = index.chunks.map((chunk, k) => ({
      ...chunk,
      id: createHash("sha256").update(pieces[k]).digest("hex") as ChunkId,
    }));
    const sha256 = { ...index, featureFlags: 0n, chunks };
    const store = await LocalStore.open(`${dir}/store`, {
      codec,
      digests: ["sha256"],
      create: true,
      uncompressed: true,
    });
    for (let k = 0; k < pieces.length; k++) {
      await store.storeChunk({ id: chunks[k].id, plain: pieces[k] });
    }
    // Each chunk is its plain bytes under its bare ID.
    const path = store.chunkPath(chunks[3].id).replace(/\.cacnk$/, "");
    assertBytesEqual(await Deno.readFile(path), pieces[3]);
    const offset = chunks[20].start + 5;
    for (const [from, length] of [[0, undefined], [offset, chunks[90].start - offset]] as const) {
      const { bytes, error } = await catted({
        index: sha256,
        store,
        codec,
        concurrency: 4,
        offset: from,
        length,
      });
      assertEquals(error, null);
      assertBytesEqual(
        bytes,
        data.subarray(from, length === undefined ? undefined : from + length),
      );
    }
  },
);

codecTest(
  "cat: run buffers given back to the lanes are zeroed again where all-zero chunks go",
  async (dir, codec) => {
    // 1200 chunks are 38 runs: far more than are asked ahead, so buffers come round again,
    // and the all-zero chunks fall at other places of them each time.
    const { data, index, pieces } = blobAndIndex(1200);
    const store = await storeWith(`${dir}/store`, codec, pieces, index, () => false);
    const zeroIds = new Set((await zeroChunkIds(index, codec)).values());
    const { bytes, error } = await catted({ index, store, codec, concurrency: 4, zeroIds });
    assertEquals(error, null);
    assertBytesEqual(bytes, data);
  },
);
