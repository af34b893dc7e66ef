import { assertEquals, assertRejects } from "../assert.ts";
import { BlobMismatch } from "../../src/errors.ts";
import { verifyIndex } from "../../src/ops/verify_index.ts";
import { codecTest, indexOfPieces, pseudoRandom } from "../helpers.ts";

/** 120 chunks of 20-60 KiB (several lane jobs' worth), IDs hashed by node:crypto. */
function blob() {
  const pieces = Array.from(
    { length: 120 },
    (_, i) => pseudoRandom(20_000 + (i * 7919) % 40_000, i + 1),
  );
  return indexOfPieces(pieces, 64 << 10);
}

codecTest("verify-index: a blob as its index says passes", async (dir, codec) => {
  const { data, index } = blob();
  await Deno.writeFile(`${dir}/blob`, data);
  await verifyIndex({ index, blob: `${dir}/blob`, codec, concurrency: 4 });
  assertEquals((await Deno.stat(`${dir}/blob`)).size, data.length);
});

codecTest(
  "verify-index: the first chunk that differs is named, wherever its run",
  async (dir, codec) => {
    const { data, index } = blob();
    for (const bad of [[97, 31], [0], [119], [64, 65]]) {
      const changed = data.slice();
      for (const i of bad) changed[index.chunks[i].start + 5] ^= 0x40;
      await Deno.writeFile(`${dir}/blob`, changed);
      const first = Math.min(...bad);
      const chunk = index.chunks[first];
      const error = await assertRejects(
        () => verifyIndex({ index, blob: `${dir}/blob`, codec, concurrency: 4 }),
        BlobMismatch,
      );
      assertEquals(
        error.message.replace(/hashes to [0-9a-f]{64}/, "hashes to X"),
        `${dir}/blob: chunk ${first} at offset ${chunk.start} (size ${chunk.size}) hashes to X, ` +
          `the index says ${chunk.id}`,
      );
    }
  },
);
