/** Copying from seeds in worker batches: runs, lookups, in-place checks, invalid seeds. */
import { createHash } from "node:crypto";
import { assertEquals, assertRejects } from "../assert.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import type { IndexChunk } from "../../src/format/index.ts";
import { ChunkNeeds, type Need } from "../../src/ops/chunk_needs.ts";
import {
  chunksInPlace,
  type ChunkSource,
  type CopyContext,
  copyFromFileSeed,
  copyFromKnownSeeds,
  indexFileSeed,
} from "../../src/ops/copy_seeds.ts";
import { type Seed, SeedError } from "../../src/ops/seeds.ts";
import { chunkerParams, cutsOf } from "../../src/chunk/chunker.ts";
import type { CodecPool } from "../../src/chunk/codec_pool.ts";
import { codecTest, pseudoRandom } from "../helpers.ts";

const sha = (bytes: Uint8Array) => createHash("sha512-256").update(bytes).digest("hex") as ChunkId;

/** Cuts `data` into fixed pieces of the given sizes; returns the index chunks. */
function chunksOf(data: Uint8Array, sizes: number[]): IndexChunk[] {
  let start = 0;
  return sizes.map((size) => {
    const chunk = { id: sha(data.subarray(start, start + size)), start, size };
    start += size;
    return chunk;
  });
}

function context(codec: CodecPool, output: string, chunks: readonly IndexChunk[]) {
  const needs = new ChunkNeeds();
  for (const chunk of chunks) needs.add(chunk.id, chunk.size, chunk.start);
  const filled: { id: ChunkId; source: ChunkSource; offsets: number[] }[] = [];
  const ctx: CopyContext = {
    codec,
    digest: "sha512-256",
    output,
    needs,
    filled(need: Need, source: ChunkSource) {
      filled.push({ id: need.id, source, offsets: [...need.offsets] });
    },
  };
  return { ctx, needs, filled };
}

codecTest(
  "index seeds: runs are copied and verified; a repeated chunk lands at each offset",
  async (
    dir,
    codec,
  ) => {
    const a = pseudoRandom(3000, 1);
    const b = pseudoRandom(2000, 2);
    const c = pseudoRandom(1000, 3);
    const seedData = new Uint8Array([...a, ...b, ...c]);
    await Deno.writeFile(`${dir}/seed`, seedData);
    const seedChunks = chunksOf(seedData, [3000, 2000, 1000]);
    // Target: B, A, B, C, then D that no seed has.
    const d = pseudoRandom(500, 4);
    const target = new Uint8Array([...b, ...a, ...b, ...c, ...d]);
    const targetChunks = chunksOf(target, [2000, 3000, 2000, 1000, 500]);
    await Deno.writeFile(`${dir}/out`, new Uint8Array(target.length));
    const { ctx, needs, filled } = context(codec, `${dir}/out`, targetChunks);
    const seed = {
      name: "s",
      dataPath: `${dir}/seed`,
      chunks: seedChunks,
      source: "seed" as const,
    };
    const regenerate = await copyFromKnownSeeds(
      ctx,
      targetChunks,
      [{ ...seed, strict: true }],
      "fail",
    );
    await codec.closeFiles();
    assertEquals(regenerate, []);
    assertEquals(needs.count, 1); // D
    assertEquals(needs.get(targetChunks[4].id)?.offsets, [8000]);
    const out = await Deno.readFile(`${dir}/out`);
    assertEquals(out.subarray(0, 8000), target.subarray(0, 8000));
    assertEquals(out.subarray(8000), new Uint8Array(500));
    assertEquals(
      filled.map((f) => f.offsets).sort((x, y) => x[0] - y[0]),
      [[0, 5000], [2000], [7000]],
    );
  },
);

codecTest("index seeds: a range that no longer matches fails, or drops the seed", async (
  dir,
  codec,
) => {
  const data = pseudoRandom(6000, 5);
  const chunks = chunksOf(data, [2000, 2000, 2000]);
  const tampered = data.slice();
  tampered[2500] ^= 1;
  await Deno.writeFile(`${dir}/seed`, tampered);
  const known = {
    name: "v1.caibx",
    dataPath: `${dir}/seed`,
    chunks,
    source: "seed" as const,
    strict: true,
    seed: { name: "v1.caibx", kind: "index", dataPath: `${dir}/seed`, size: 6000 } as Seed,
  };
  for (const policy of ["fail", "skip", "regenerate"] as const) {
    await Deno.writeFile(`${dir}/out`, new Uint8Array(6000));
    const { ctx, needs } = context(codec, `${dir}/out`, chunks);
    if (policy === "fail") {
      await assertRejects(
        () => copyFromKnownSeeds(ctx, chunks, [known], policy),
        SeedError,
        `seed v1.caibx: chunk ${chunks[1].id} at offset 2000 does not match`,
      );
      continue;
    }
    const regenerate = await copyFromKnownSeeds(ctx, chunks, [known], policy);
    await codec.closeFiles();
    // The bad chunk is still needed; nothing wrong was written.
    assertEquals(needs.get(chunks[1].id)?.offsets, [2000]);
    const out = await Deno.readFile(`${dir}/out`);
    assertEquals(out.subarray(2000, 4000), new Uint8Array(2000));
    assertEquals(regenerate.map((s) => s.kind), policy === "regenerate" ? ["file"] : []);
  }
});

codecTest("a seed file that ends early leaves its last chunks needed", async (dir, codec) => {
  const data = pseudoRandom(4000, 6);
  const chunks = chunksOf(data, [2000, 2000]);
  await Deno.writeFile(`${dir}/seed`, data.subarray(0, 3000));
  await Deno.writeFile(`${dir}/out`, new Uint8Array(4000));
  const { ctx, needs } = context(codec, `${dir}/out`, chunks);
  const known = { name: "s", dataPath: `${dir}/seed`, chunks, source: "seed" as const };
  await copyFromKnownSeeds(ctx, chunks, [{ ...known, strict: false }], "fail");
  await assertRejects(
    () => copyFromKnownSeeds(ctx, chunks, [{ ...known, strict: true }], "fail"),
    SeedError,
    "lies past the end",
  );
  assertEquals(needs.count, 1);
});

codecTest("file seeds: only chunks the target needs are written, found by the chunker", async (
  dir,
  codec,
) => {
  const params = chunkerParams(256, 1024, 4096);
  const old = pseudoRandom(64 * 1024, 7);
  // The target: the old file with its middle replaced.
  const target = old.slice();
  target.set(pseudoRandom(3000, 8), 30_000);
  const cutChunks = (data: Uint8Array) => {
    let start = 0;
    return cutsOf(data, params).map((end) => {
      const chunk = { id: sha(data.subarray(start, end)), start, size: end - start };
      start = end;
      return chunk;
    });
  };
  const targetChunks = cutChunks(target);
  const oldIds = new Set(cutChunks(old).map((chunk) => chunk.id));
  await Deno.writeFile(`${dir}/old`, old);
  await Deno.writeFile(`${dir}/out`, new Uint8Array(target.length));
  const { ctx, needs, filled } = context(codec, `${dir}/out`, targetChunks);
  const seed: Seed = { name: "old", kind: "file", dataPath: `${dir}/old`, size: old.length };
  await copyFromFileSeed(ctx, seed, params);
  await codec.closeFiles();
  const expectedLeft = targetChunks.filter((chunk) => !oldIds.has(chunk.id));
  assertEquals(
    [...needs.values()].map((need) => need.id).sort(),
    expectedLeft.map((c) => c.id).sort(),
  );
  assertEquals(filled.every((f) => f.source === "seed"), true);
  const out = await Deno.readFile(`${dir}/out`);
  for (const chunk of targetChunks) {
    const expected = oldIds.has(chunk.id)
      ? target.subarray(chunk.start, chunk.start + chunk.size)
      : new Uint8Array(chunk.size);
    assertEquals(out.subarray(chunk.start, chunk.start + chunk.size), expected);
  }

  const found = await indexFileSeed(
    codec,
    seed,
    params,
    "sha512-256",
    new Set([...oldIds].map(() => 0)),
  );
  assertEquals(found, []); // no candidate sizes, nothing hashed
  const all = await indexFileSeed(
    codec,
    seed,
    params,
    "sha512-256",
    new Set(cutChunks(old).map((c) => c.size)),
  );
  assertEquals(all, cutChunks(old));
});

codecTest("chunks in place are found by hashing the file at their offsets", async (dir, codec) => {
  const data = pseudoRandom(6000, 9);
  const chunks = chunksOf(data, [2000, 2000, 2000]);
  const file = data.slice();
  file[4100] ^= 1;
  await Deno.writeFile(`${dir}/f`, file);
  const found = await chunksInPlace(codec, `${dir}/f`, chunks, "sha512-256");
  assertEquals(found, [chunks[0], chunks[1]]);
});

codecTest(
  "file seeds: one that shrank since it was resolved is dropped; an unreadable one fails",
  async (
    dir,
    codec,
  ) => {
    const params = chunkerParams(256, 1024, 4096);
    const data = pseudoRandom(64 * 1024, 9);
    const chunks = (() => {
      let start = 0;
      return cutsOf(data, params).map((end) => {
        const chunk = { id: sha(data.subarray(start, end)), start, size: end - start };
        start = end;
        return chunk;
      });
    })();
    await Deno.writeFile(`${dir}/out`, new Uint8Array(data.length));
    await Deno.writeFile(`${dir}/seed`, data.subarray(0, 1000)); // shrank from 64 KiB
    const { ctx, needs } = context(codec, `${dir}/out`, chunks);
    const shrank: Seed = { name: "seed", kind: "file", dataPath: `${dir}/seed`, size: data.length };
    await copyFromFileSeed(ctx, shrank, params);
    assertEquals(needs.count, chunks.length, "nothing came from it, and no error");
    // The same size as resolved, but not readable (a directory now): the command's error.
    await Deno.remove(`${dir}/seed`);
    await Deno.mkdir(`${dir}/seed`);
    const unreadable: Seed = { name: "seed", kind: "file", dataPath: `${dir}/seed`, size: 4096 };
    await assertRejects(() => copyFromFileSeed(ctx, unreadable, params), Error);
  },
);
