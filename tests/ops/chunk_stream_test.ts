import { createHash } from "node:crypto";
import { assertEquals } from "../assert.ts";
import { chunkerParams, cutsOf } from "../../src/chunk/chunker.ts";
import { StreamChunker } from "../../src/ops/chunk_stream.ts";
import { codecTest, pseudoRandom } from "../helpers.ts";

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
      const { chunks, stats } = await chunker.finish();
      assertEquals(chunks.map((c) => c.start + c.size), ends, `pieces ${pieces}`);
      for (const chunk of chunks) {
        const plain = data.subarray(chunk.start, chunk.start + chunk.size);
        assertEquals(chunk.id, createHash("sha512-256").update(plain).digest("hex"));
      }
      assertEquals(stats.bytesIn, data.length);
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
  assertEquals((await chunker.finish()).chunks, []);
});
