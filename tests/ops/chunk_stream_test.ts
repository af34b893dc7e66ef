import { createHash } from "node:crypto";
import { assert, assertEquals } from "../assert.ts";
import { type ChunkerParams, chunkerParams, cutsOf } from "../../src/chunk/chunker.ts";
import type { CodecPool } from "../../src/chunk/codec_pool.ts";
import { decodeChunk } from "../../src/chunk/codec.ts";
import { LocalStore } from "../../src/store/local.ts";
import type { IndexChunk, IndexTable } from "../../src/format/index.ts";
import { StreamChunker } from "../../src/ops/chunk_stream.ts";
import { codecTest, pseudoRandom } from "../helpers.ts";

function chunksOf(table: IndexTable): IndexChunk[] {
  return Array.from({ length: table.count }, (_, i) => table.chunk(i));
}

/** The SHA512/256 IDs of `data` cut at `ends`, as node:crypto computes them. */
function idsOf(data: Uint8Array, ends: number[]): string[] {
  return ends.map((end, i) =>
    createHash("sha512-256").update(data.subarray(i === 0 ? 0 : ends[i - 1], end)).digest("hex")
  );
}

codecTest(
  "stream chunker: cuts and IDs do not depend on how the stream is written",
  async (_, codec) => {
    const params = chunkerParams(2048, 8192, 32768);
    const data = pseudoRandom(1 << 20, 5);
    data.fill(0, 300_000, 400_000); // a run without cuts: chunks of the maximum size
    const ends = cutsOf(data, params);
    for (const pieces of [[data.length], [1, 15, 4096, 100_000, 17], [33, 70_000]]) {
      const chunker = new StreamChunker({ codec, params, digest: "sha512-256", concurrency: 3 });
      let at = 0;
      let k = 0;
      while (at < data.length) {
        const size = pieces[k++ % pieces.length];
        await chunker.write(data.slice(at, at + size));
        at += size;
      }
      const { table, stats } = await chunker.finish();
      const chunks = chunksOf(table);
      assertEquals(chunks.map((c) => c.start + c.size), ends, `pieces ${pieces}`);
      for (const chunk of chunks) {
        const plain = data.subarray(chunk.start, chunk.start + chunk.size);
        assertEquals(chunk.id, createHash("sha512-256").update(plain).digest("hex"));
      }
      assertEquals(stats.bytesIn, data.length);
      assertEquals(stats.chunks, ends.length);
      assertEquals(stats.uniqueChunks, new Set(idsOf(data, ends)).size);
    }
  },
);

codecTest("stream chunker: an empty stream has no chunks", async (_, codec) => {
  const chunker = new StreamChunker({
    codec,
    params: chunkerParams(),
    digest: "sha256",
    concurrency: 2,
  });
  const { table, stats } = await chunker.finish();
  assertEquals(table.count, 0);
  assertEquals([stats.chunks, stats.uniqueChunks], [0, 0]);
});

codecTest(
  "stream chunker: a local store's chunk files are written by the workers, each once",
  async (dir, codec) => {
    const params = chunkerParams(2048, 8192, 32768);
    const part = pseudoRandom(200_000, 9);
    // The same bytes twice: every chunk of the second half but the first repeats one of the first.
    const data = new Uint8Array([...part, ...part]);
    for (const uncompressed of [false, true]) {
      const root = `${dir}/store-${uncompressed}`;
      const store = await LocalStore.open(root, {
        codec,
        digests: ["sha512-256"],
        create: true,
        uncompressed,
      });
      // A compressed chunk file already there is kept as it is.
      const firstEnd = cutsOf(data, params)[0];
      const firstId = createHash("sha512-256").update(data.subarray(0, firstEnd)).digest("hex");
      const firstPath = uncompressed
        ? `${root}/${firstId.slice(0, 4)}/${firstId}`
        : `${root}/${firstId.slice(0, 4)}/${firstId}.cacnk`;
      await Deno.mkdir(`${root}/${firstId.slice(0, 4)}`);
      await Deno.writeTextFile(firstPath, "left alone");
      const chunker = new StreamChunker({
        store,
        codec,
        params,
        digest: "sha512-256",
        concurrency: 4,
      });
      await chunker.write(data);
      const { table, stats } = await chunker.finish();
      const chunks = chunksOf(table);
      const unique = new Set(idsOf(data, cutsOf(data, params)));
      assert(unique.size < chunks.length, "the data repeats chunks");
      assertEquals(stats.uniqueChunks, unique.size);
      for (const chunk of chunks.slice(1)) {
        const plain = data.subarray(chunk.start, chunk.start + chunk.size);
        const name = `${root}/${chunk.id.slice(0, 4)}/${chunk.id}`;
        const stored = await Deno.readFile(uncompressed ? name : `${name}.cacnk`);
        // zstd frames decode to the chunk (casync's own format), plain files are the chunk.
        const back = uncompressed ? stored : decodeChunk(stored, chunk.id, "sha512-256", true);
        assertEquals(back, plain);
      }
      if (!uncompressed) {
        // Only the files written are counted, not the one already there (which the
        // uncompressed store, written by storeChunk on the main thread, replaces).
        assertEquals(stats.storedChunks, unique.size - 1);
        assertEquals(await Deno.readTextFile(firstPath), "left alone");
      } else {
        assertEquals(stats.storedChunks, unique.size, "each distinct chunk stored once");
      }
      const files = [...Deno.readDirSync(root)].flatMap((d) =>
        [...Deno.readDirSync(`${root}/${d.name}`)].map((f) => f.name)
      );
      assertEquals(files.length, unique.size, "no temporaries are left");
      await store.close();
    }
  },
);

codecTest(
  "stream chunker: chunks handed over in batches stay right when the buffer moves its bytes",
  async (dir, codec) => {
    // More than the stream buffer (4 MiB; 16 MiB for 4 MiB chunks), so the bytes still to
    // cut move to its front again and again; chunks past 2 MiB make batches of their own size.
    for (const [min, avg, max] of [[1024, 4096, 16384], [1 << 20, 2 << 20, 4 << 20]]) {
      await batchesStayRight(`${dir}/store-${max}`, codec, chunkerParams(min, avg, max));
    }
  },
);

/** tar -i's path: a local store the lanes write, fed more than the stream buffer holds. */
async function batchesStayRight(root: string, codec: CodecPool, params: ChunkerParams) {
  const data = pseudoRandom(Math.max(6 << 20, 5 * params.max), 12);
  const ends = cutsOf(data, params);
  const store = await LocalStore.open(root, {
    codec,
    digests: ["sha512-256"],
    create: true,
  });
  const chunker = new StreamChunker({
    store,
    codec,
    params,
    digest: "sha512-256",
    concurrency: 10,
  });
  for (let at = 0; at < data.length; at += (1 << 20) + 7) {
    await chunker.write(data.slice(at, at + (1 << 20) + 7));
  }
  const { table, stats } = await chunker.finish();
  const chunks = chunksOf(table);
  assertEquals(chunks.map((c) => c.start + c.size), ends);
  assertEquals(stats.storedChunks, chunks.length);
  for (const chunk of chunks) {
    const plain = data.subarray(chunk.start, chunk.start + chunk.size);
    assertEquals(chunk.id, createHash("sha512-256").update(plain).digest("hex"));
    const file = await Deno.readFile(store.chunkPath(chunk.id));
    assertEquals(decodeChunk(file, chunk.id, "sha512-256", true).length, chunk.size);
  }
}
