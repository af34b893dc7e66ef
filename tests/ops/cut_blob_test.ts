import { assert, assertEquals } from "../assert.ts";
import { chunkerParams, cutsOf } from "../../src/chunk/chunker.ts";
import { cutBlob, cutBlobFrom, cutsUntil, partStarts } from "../../src/ops/cut_blob.ts";
import type { CodecPool } from "../../src/chunk/codec_pool.ts";
import { codecTest, pseudoRandomFast } from "../helpers.ts";

const sequentialCuts = cutsOf;

codecTest(
  "parallel cut finding equals the sequential chunker, with parts split near cuts",
  async (dir, codec) => {
    const params = chunkerParams(2048, 8192, 32768);
    // Random data with a zero run and a repeated block, so parts meet every kind of region.
    const data = pseudoRandomFast(3 << 20, 21);
    data.fill(0, 1_000_000, 1_300_000);
    data.copyWithin(2_000_000, 100_000, 400_000);
    const path = `${dir}/blob`;
    await Deno.writeFile(path, data);
    const want = sequentialCuts(data, params);
    const near = want[40];
    for (
      const starts of [
        [0, near],
        [0, near - 1],
        [0, near + 1],
        [0, near + 47, near + 48],
        [0, 1_050_000, 1_100_000, 2_500_000], // parts starting inside the zero run
        [0, 500_000, 1_000_000, 1_500_000, 2_000_000, 2_500_000, 3_000_000],
      ]
    ) {
      assertEquals(
        await cutBlobFrom(codec, path, data.length, params, starts),
        want,
        `${starts}`,
      );
    }
    assertEquals(await cutBlob(codec, path, data.length, params, 4), want);
    await codec.closeFiles();

    const zeros = new Uint8Array(5 << 20);
    await Deno.writeFile(`${dir}/zeros`, zeros);
    const zeroCuts = sequentialCuts(zeros, params);
    assertEquals(
      await cutBlobFrom(codec, `${dir}/zeros`, zeros.length, params, [0, 1_234_567, 3_000_001]),
      zeroCuts,
    );
    await codec.closeFiles();
  },
  2,
);

Deno.test("blobs are cut in parts of at most 32 MiB, one per lane at least, none too small", () => {
  const params = chunkerParams();
  const MiB = 1 << 20;
  const lengths = (size: number, lanes: number) => {
    const starts = partStarts(size, params, lanes);
    return starts.map((start, k) => (starts[k + 1] ?? size) - start);
  };
  // 256 MiB: 8 parts of 32 MiB (a lane on the main thread holds a part ~40 ms), not 2 of 128.
  assertEquals(lengths(256 * MiB, 2), new Array(8).fill(32 * MiB));
  // Small blobs: one part per lane as long as a part keeps 4 MiB (4x the largest chunk).
  assertEquals(lengths(8 * MiB, 2), [4 * MiB, 4 * MiB]);
  assertEquals(lengths(5 * MiB, 2), [5 * MiB]);
  assertEquals(partStarts(100 * MiB, params, 8).length, 8);
});

codecTest(
  "no cuts job scans more than a step, so the lane on the main thread lets signals in",
  async (dir, codec) => {
    const params = chunkerParams(2048, 8192, 32768);
    const data = pseudoRandomFast(3 << 20, 22);
    data.fill(0, 600_000, 1_400_000);
    const path = `${dir}/blob`;
    await Deno.writeFile(path, data);
    const want = sequentialCuts(data, params);
    const step = 256 << 10;
    const scans: number[] = [];
    // Records how far each job may scan (from its start to its limit, plus the one chunk past).
    const counting = {
      get size() {
        return codec.size;
      },
      cuts: (...args: Parameters<CodecPool["cuts"]>) => {
        scans.push(args[3] - args[2]);
        return codec.cuts(...args);
      },
    } as CodecPool;
    assertEquals(
      await cutBlobFrom(counting, path, data.length, params, [0, 1_500_000], step),
      want,
    );
    assert(scans.length >= (3 << 20) / step, `${scans.length} jobs`);
    assert(scans.every((scan) => scan <= step), `${scans}`);
    scans.length = 0;
    const from = want[100];
    assertEquals(
      await cutsUntil(counting, path, data.length, from, data.length, params, step),
      want.filter((cut) => cut > from),
    );
    assert(scans.every((scan) => scan <= step), `${scans}`);
    await codec.closeFiles();
  },
  2,
);
