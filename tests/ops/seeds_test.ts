/** Resolving --seed / --seed-dir values and the existing output into seeds. */
import { assertEquals, assertRejects } from "../assert.ts";
import { encodeIndex, FLAG_SHA512_256, type Index } from "../../src/format/index.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { readIndex } from "../../src/ops/read_index.ts";
import { resolveSeeds, SeedError, type SeedOptions } from "../../src/ops/seeds.ts";
import { UsageError } from "../../src/errors.ts";
import { removeDir, tempDir } from "../helpers.ts";

const ID = "ab".repeat(32) as ChunkId;

function indexOf(size: number, flags = FLAG_SHA512_256, avg = 65536): Index {
  return {
    featureFlags: flags,
    chunkSizeMin: avg / 4,
    chunkSizeAvg: avg,
    chunkSizeMax: avg * 4,
    chunks: size ? [{ id: ID, start: 0, size }] : [],
  };
}

function seedTest(name: string, fn: (dir: string, base: SeedOptions) => Promise<void>) {
  Deno.test(`seeds: ${name}`, async (t) => {
    const dir = await tempDir(t);
    try {
      await fn(dir, {
        seeds: [],
        seedDirs: [],
        target: indexOf(100),
        readIndex: (location) => readIndex(location),
      });
    } finally {
      await removeDir(dir);
    }
  });
}

seedTest("an index, INDEX:DATA, a file with its index beside it, a plain file", async (
  dir,
  base,
) => {
  await Deno.writeFile(`${dir}/v1`, new Uint8Array(100));
  await Deno.writeFile(`${dir}/v1.caibx`, encodeIndex(indexOf(100)));
  await Deno.writeFile(`${dir}/other`, new Uint8Array(100));
  await Deno.writeFile(`${dir}/plain`, new Uint8Array(7));
  const seeds = await resolveSeeds({
    ...base,
    seeds: [`${dir}/v1.caibx`, `${dir}/v1.caibx:${dir}/other`, `${dir}/plain`],
  });
  assertEquals(seeds.map((s) => [s.kind, s.dataPath, s.size]), [
    ["index", `${dir}/v1`, 100],
    ["index", `${dir}/other`, 100],
    ["file", `${dir}/plain`, 7],
  ]);
  // The same data named twice (here: the file and its index) is one seed.
  const once = await resolveSeeds({ ...base, seeds: [`${dir}/v1`, `${dir}/v1.caibx`] });
  assertEquals(once.map((s) => s.kind), ["index"]);
});

seedTest("an index seed with other chunk sizes or digest is re-chunked as a file", async (
  dir,
  base,
) => {
  await Deno.writeFile(`${dir}/a`, new Uint8Array(100));
  await Deno.writeFile(`${dir}/a.caibx`, encodeIndex(indexOf(100, 0n)));
  await Deno.writeFile(`${dir}/b`, new Uint8Array(100));
  await Deno.writeFile(`${dir}/b.caibx`, encodeIndex(indexOf(100, FLAG_SHA512_256, 4096)));
  const seeds = await resolveSeeds({ ...base, seeds: [`${dir}/a.caibx`, `${dir}/b.caibx`] });
  assertEquals(seeds.map((s) => s.kind), ["file", "file"]);
});

seedTest("bad seeds: missing data, a malformed index, data of the wrong size", async (
  dir,
  base,
) => {
  await assertRejects(
    () => resolveSeeds({ ...base, seeds: [`${dir}/gone.caibx`] }),
    SeedError,
    `seed ${dir}/gone.caibx: cannot read its data ${dir}/gone: no such file`,
  );
  await Deno.writeFile(`${dir}/bad`, new Uint8Array(100));
  await Deno.writeFile(`${dir}/bad.caibx`, new Uint8Array(50));
  await assertRejects(
    () => resolveSeeds({ ...base, seeds: [`${dir}/bad.caibx`] }),
    Error,
    `${dir}/bad.caibx: invalid index`,
  );
  await Deno.writeFile(`${dir}/short`, new Uint8Array(99));
  await Deno.writeFile(`${dir}/short.caibx`, encodeIndex(indexOf(100)));
  const seeds = [`${dir}/short.caibx`];
  await assertRejects(
    () => resolveSeeds({ ...base, seeds }),
    SeedError,
    "has 99 bytes, its index describes 100",
  );
  assertEquals(await resolveSeeds({ ...base, seeds, invalidSeeds: "skip" }), []);
  const regenerated = await resolveSeeds({ ...base, seeds, invalidSeeds: "regenerate" });
  assertEquals(regenerated.map((s) => s.kind), ["file"]);
  await assertRejects(
    () => resolveSeeds({ ...base, seeds: [`http://example.org/v1.caibx`] }),
    UsageError,
    "INDEX:DATA",
  );
});

seedTest("seed directories skip the target index and indexes without data", async (
  dir,
  base,
) => {
  await Deno.mkdir(`${dir}/d/sub`, { recursive: true });
  await Deno.writeFile(`${dir}/d/sub/x`, new Uint8Array(100));
  await Deno.writeFile(`${dir}/d/sub/x.caibx`, encodeIndex(indexOf(100)));
  await Deno.writeFile(`${dir}/d/lonely.caibx`, encodeIndex(indexOf(100)));
  await Deno.writeFile(`${dir}/d/target`, new Uint8Array(100));
  await Deno.writeFile(`${dir}/d/target.caibx`, encodeIndex(indexOf(100)));
  const seeds = await resolveSeeds({
    ...base,
    seedDirs: [`${dir}/d`],
    targetIndexPath: `${dir}/d/target.caibx`,
  });
  assertEquals(seeds.map((s) => s.dataPath), [`${dir}/d/sub/x`]);
  await assertRejects(
    () => resolveSeeds({ ...base, seedDirs: [`${dir}/none`] }),
    UsageError,
    "--seed-dir",
  );
});

seedTest("the existing output is the last seed, unless in place or turned off", async (
  dir,
  base,
) => {
  await Deno.writeFile(`${dir}/out`, new Uint8Array(10));
  await Deno.writeFile(`${dir}/s`, new Uint8Array(10));
  const output = `${dir}/out`;
  const seeds = await resolveSeeds({ ...base, seeds: [`${dir}/s`], output, seedOutput: true });
  assertEquals(seeds.map((s) => s.kind), ["file", "output"]);
  assertEquals(await resolveSeeds({ ...base, output, seedOutput: false }), []);
  assertEquals(await resolveSeeds({ ...base, output, seedOutput: true, inPlace: true }), []);
  await assertRejects(
    () => resolveSeeds({ ...base, seeds: [output], output, seedOutput: true, inPlace: true }),
    UsageError,
    "is the output itself",
  );
});

seedTest("a seed not used (named twice, or the in-place output) has its index never read", async (
  dir,
  base,
) => {
  await Deno.writeFile(`${dir}/v1`, new Uint8Array(100));
  await Deno.writeFile(`${dir}/v1.caibx`, encodeIndex(indexOf(100)));
  await Deno.mkdir(`${dir}/seeds`);
  await Deno.writeFile(`${dir}/seeds/out`, new Uint8Array(100));
  // Under --seed-dir: the output's old index, which no longer matches (it would fail the run).
  await Deno.writeFile(`${dir}/seeds/out.caibx`, encodeIndex(indexOf(50)));
  const read: string[] = [];
  const options = {
    ...base,
    readIndex: (location: string) => {
      read.push(location);
      return readIndex(location);
    },
  };
  const seeds = await resolveSeeds({
    ...options,
    seeds: [`${dir}/v1.caibx`, `${dir}/v1.caibx`],
    seedDirs: [`${dir}/seeds`],
    output: `${dir}/seeds/out`,
    inPlace: true,
  });
  assertEquals(seeds.map((s) => s.dataPath), [`${dir}/v1`]);
  assertEquals(read, [`${dir}/v1.caibx`]);
});
