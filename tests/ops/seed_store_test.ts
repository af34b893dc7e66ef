/** SeedStore: an index seed re-chunked under --regenerate-invalid-seeds, while other reads go on. */
import { assert, assertBytesEqual } from "../assert.ts";
import { CodecPool } from "../../src/chunk/codec_pool.ts";
import { readIndex } from "../../src/ops/read_index.ts";
import { SeedStore } from "../../src/ops/seed_store.ts";
import type { Seed } from "../../src/ops/seeds.ts";
import { blobStoreTest, swapFirstTwoChunks } from "../helpers.ts";

blobStoreTest(
  "seed store: a chunk asked while its invalid index seed is re-chunked waits for it",
  31,
  async (dir) => {
    const index = await readIndex(`${dir}/blob.caibx`);
    const [first] = index.chunks;
    const last = index.chunks.at(-1)!;
    const blob = await Deno.readFile(`${dir}/blob`);
    const swapped = swapFirstTwoChunks(blob, index.chunks);
    await Deno.writeFile(`${dir}/seed`, swapped);
    const seed: Seed = {
      name: "seed",
      kind: "index",
      dataPath: `${dir}/seed`,
      size: swapped.length,
      index,
    };
    const codec = new CodecPool(1);
    try {
      const store = await SeedStore.open([seed], index, codec, "regenerate");
      // The first chunk does not match: the seed is set aside while its data is chunked anew.
      const firstRead = store.getChunk(first.id);
      let settled = false;
      firstRead.finally(() => settled = true).catch(() => {});
      let inWindow = false;
      while (!settled && !inWindow) {
        inWindow = !(await store.hasChunk(last.id));
        if (!inWindow) await new Promise((resolve) => setTimeout(resolve, 0));
      }
      assert(inWindow, "the test asked while the seed was being re-chunked");
      const lastRead = await store.getChunk(last.id);
      assertBytesEqual(lastRead.plain, blob.subarray(last.start, last.start + last.size));
      assertBytesEqual((await firstRead).plain, blob.subarray(first.start, first.size));
    } finally {
      codec.close();
    }
  },
);
