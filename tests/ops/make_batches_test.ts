import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { assertBytesEqual, assertEquals } from "../assert.ts";
import { CodecPool } from "../../src/chunk/codec_pool.ts";
import { CHUNK_ID_SIZE, chunkIdFromBytes } from "../../src/format/chunk_id.ts";
import { chunkFilePath } from "../../src/format/store_layout.ts";
import { batchesOf } from "../../src/ops/make.ts";
import { pseudoRandom, removeDir, tempDir } from "../helpers.ts";

const sha512_256 = (data: Uint8Array) => createHash("sha512-256").update(data).digest("hex");

Deno.test("batchesOf covers every chunk once, in order, in runs of about the bytes asked", () => {
  const cuts = [10, 30, 35, 100, 101, 180];
  assertEquals([...batchesOf(cuts, 0, 40)], [[0, 4], [4, 6]]);
  assertEquals([...batchesOf(cuts, 0, 0)], cuts.map((_, i) => [i, i + 1]));
  assertEquals([...batchesOf(cuts, 0, 1000)], [[0, 6]]);
  // Chunking from an offset (chunk -S): the first chunk starts there, not at 0.
  assertEquals([...batchesOf(cuts, 5, 25)], [[0, 2], [2, 4], [4, 6]]);
  assertEquals([...batchesOf([], 0, 40)], []);
  // A chunk that reaches the bytes ends its run, small chunks before it included.
  assertEquals([...batchesOf([10, 5000, 5010], 0, 1000)], [[0, 2], [2, 3]]);
});

Deno.test("batchesOf: runs of small chunks end at the chunk count, whatever their bytes", () => {
  const cuts = Array.from({ length: 10 }, (_, i) => (i + 1) * 4);
  assertEquals([...batchesOf(cuts, 0, 1 << 20, 4)], [[0, 4], [4, 8], [8, 10]]);
  // The default: 64 chunks at most, so a megabyte of 256-byte chunks is 64 runs.
  const tiny = Array.from({ length: 4096 }, (_, i) => (i + 1) * 256);
  const runs = [...batchesOf(tiny, 0, 1 << 20)];
  assertEquals(runs.length, 64);
  assertEquals(runs.every(([first, end]) => end - first === 64), true);
});

Deno.test({
  name: "a pieces job hashes and stores each piece as casync names and compresses it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await tempDir();
    const pool = new CodecPool(2, { inline: true });
    try {
      const path = `${dir}/blob`;
      const repeated = pseudoRandom(3000, 5);
      const parts = [pseudoRandom(5000, 1), repeated, pseudoRandom(7, 2), repeated];
      const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      const ends: number[] = [];
      let at = 0;
      for (const part of parts) {
        data.set(part, at);
        ends.push(at += part.length);
      }
      await Deno.writeFile(path, data);
      const store = `${dir}/store`;
      const job = { path, digest: "sha512-256", mode: "store", storeDir: store } as const;
      // Two jobs, the second starting mid-file; one after the other, so which writes is known.
      const a = await pool.pieces({ ...job, start: 0, ends: Float64Array.from(ends.slice(0, 2)) });
      const b = await pool.pieces({
        ...job,
        start: ends[1],
        ends: Float64Array.from(ends.slice(2)),
      });
      await pool.closeFiles();
      const ids = [a, b].flatMap((r) =>
        Array.from(
          { length: r.ids.length / CHUNK_ID_SIZE },
          (_, k) => chunkIdFromBytes(r.ids, k * CHUNK_ID_SIZE),
        )
      );
      assertEquals(ids, parts.map(sha512_256));
      for (const [k, part] of parts.entries()) {
        const file = await Deno.readFile(chunkFilePath(store, ids[k]));
        assertBytesEqual(new Uint8Array(zlib.zstdDecompressSync(file)), part);
      }
      const written = [...a.written, ...b.written];
      // The repeated piece's file is written once; the second time it is found there.
      assertEquals(written[3], 0);
      for (const k of [0, 1, 2]) {
        assertEquals(written[k], (await Deno.stat(chunkFilePath(store, ids[k]))).size);
      }
    } finally {
      pool.close();
      await removeDir(dir);
    }
  },
});
