/**
 * make against the real `casync make`: the indexes must be byte-identical, and
 * casync must extract from what we store.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { mustRun, removeDir, runCli, sha256sum, tempDir } from "../helpers.ts";
import {
  BLOB_CASES,
  type BlobCase,
  CASYNC_MISSING,
  casyncMake,
  storeIds,
} from "./casync_fixture.ts";

const SIZE_CASES: BlobCase[] = [
  { name: "small-chunks", size: 3 << 20, kind: "random", chunkSize: "1024:4096:16384" },
  { name: "large-chunks", size: 24 << 20, kind: "random", chunkSize: "32768:131072:524288" },
  { name: "odd-chunks", size: 6 << 20, kind: "random", chunkSize: "20000:50000:300000" },
  { name: "odd-chunks-zeros", size: 4 << 20, kind: "zeros", chunkSize: "20000:50000:300000" },
  // With min = avg, casync's discriminator is min: a power of two, an even number with
  // an odd part larger than its power of two, and one the other way round (3 * 2^14).
  { name: "discriminator-2^14", size: 3 << 20, kind: "random", chunkSize: "16384:16384:65536" },
  { name: "discriminator-2x10001", size: 3 << 20, kind: "random", chunkSize: "20002:20002:80000" },
  { name: "discriminator-3x2^14", size: 4 << 20, kind: "random", chunkSize: "49152:49152:196608" },
];

for (const blobCase of [...BLOB_CASES, ...SIZE_CASES]) {
  Deno.test({
    name:
      `casync interop (${blobCase.name}): make writes casync's index, casync extracts our store`,
    ignore: Boolean(CASYNC_MISSING),
    async fn(t) {
      const dir = await tempDir(t);
      try {
        const fixture = await casyncMake(dir, blobCase);
        const theirs = await Deno.readFile(fixture.index);
        for (const n of ["1", "4"]) {
          const store = `${dir}/ours-${n}.store`;
          const index = `${dir}/ours-${n}.caibx`;
          const args = ["make", "-n", n, "-s", store];
          if (blobCase.digest) args.push("--digest", blobCase.digest);
          // casync's byte sizes, with the unit -m/--chunk-size needs for bytes.
          if (blobCase.chunkSize) args.push("--chunk-size", inBytes(blobCase.chunkSize));
          const result = await runCli([...args, index, fixture.blob]);
          assertEquals(result.code, 0, result.stderr);
          assertEquals(
            await Deno.readFile(index),
            theirs,
            `index differs from casync's with -n ${n}`,
          );
          assertEquals(storeIds(store), storeIds(fixture.store));
          if (blobCase.size > 0 && n === "4") {
            const out = `${dir}/casync-out`;
            await mustRun("casync", ["extract", `--store=${store}`, index, out]);
            assertEquals(await sha256sum(out), await sha256sum(fixture.blob));
          }
        }
      } finally {
        await removeDir(dir);
      }
    },
  });
}

function inBytes(casyncSizes: string): string {
  return casyncSizes.split(":").map((size) => `${size}B`).join(":");
}

Deno.test({
  name: "casync interop: -m takes KiB like desync; chunk and verify-index agree with casync",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const fixture = await casyncMake(dir, SIZE_CASES[0]);
      const index = `${dir}/m.caibx`;
      const made = await runCli(["make", "-m", "1:4:16", index, fixture.blob]);
      assertEquals(made.code, 0, made.stderr);
      assertEquals(await Deno.readFile(index), await Deno.readFile(fixture.index));
      for (const sizes of ["1K:4K:16K", "1024B:4K:16KiB"]) {
        const withUnits = await runCli(["make", "--chunk-size", sizes, `${index}2`, fixture.blob]);
        assertEquals(withUnits.code, 0, withUnits.stderr);
        assertEquals(await Deno.readFile(`${index}2`), await Deno.readFile(fixture.index), sizes);
      }

      const listed = await runCli(["chunk", "-m", "1:4:16", fixture.blob], ["--allow-read"]);
      assertEquals(listed.code, 0, listed.stderr);
      const rows = listed.stdout.trim().split("\n").map((line) => line.split("\t"));
      const ids = await runCli(["list-chunks", fixture.index], ["--allow-read"]);
      assertEquals(rows.map((row) => row[2]), ids.stdout.trim().split("\n"));
      let offset = 0;
      for (const [start, size] of rows) {
        assertEquals(Number(start), offset);
        offset += Number(size);
      }
      assertEquals(offset, SIZE_CASES[0].size);

      const ok = await runCli(["verify-index", fixture.index, fixture.blob], ["--allow-read"]);
      assertEquals(ok.code, 0, ok.stderr);
      const bytes = await Deno.readFile(fixture.blob);
      bytes[2_000_000] ^= 0x40;
      bytes[2_500_000] ^= 0x40;
      await Deno.writeFile(fixture.blob, bytes);
      const bad = await runCli(["verify-index", fixture.index, fixture.blob], ["--allow-read"]);
      assertEquals(bad.code, 1);
      const firstBad = rows.findIndex(([start, size]) =>
        Number(start) <= 2_000_000 && 2_000_000 < Number(start) + Number(size)
      );
      assertMatch(bad.stderr, new RegExp(`chunk ${firstBad} at offset ${rows[firstBad][0]} `));
    } finally {
      await removeDir(dir);
    }
  },
});

Deno.test({
  name: "casync interop: make twice adds nothing; info counts what a store already holds",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const fixture = await casyncMake(dir, BLOB_CASES[0]);
      const store = `${dir}/ours.store`;
      const first = await runCli([
        "make",
        "--print-stats",
        "-s",
        store,
        `${dir}/a.caibx`,
        fixture.blob,
      ]);
      assertEquals(first.code, 0, first.stderr);
      const before = storeIds(store);
      // Go desync's --print-stats JSON on stderr, with our counts after its two.
      const firstStats = JSON.parse(first.stderr);
      assertEquals(firstStats["chunks-stored"], before.length);
      // An index is 48 + 16 + 40 per chunk + 40 bytes long.
      const chunks = ((await Deno.readFile(fixture.index)).length - 104) / 40;
      assertEquals(firstStats.ChunksAccepted, chunks);
      const second = await runCli([
        "make",
        "--print-stats",
        "-s",
        store,
        `${dir}/b.caibx`,
        fixture.blob,
      ]);
      assertEquals(JSON.parse(second.stderr)["chunks-stored"], 0);
      assertEquals(storeIds(store), before);

      // A store holding a known subset: casync's chunk files, minus three we remove.
      const ids = storeIds(fixture.store);
      const removed = [ids[0], ids[3], ids[7]];
      let removedBytes = 0;
      const listed = await runCli(["chunk", fixture.blob], ["--allow-read"]);
      for (const [, size, id] of listed.stdout.trim().split("\n").map((l) => l.split("\t"))) {
        if (removed.includes(id)) removedBytes += Number(size);
      }
      for (const id of removed) await Deno.remove(`${fixture.store}/${id.slice(0, 4)}/${id}.cacnk`);
      // Go desync's keys; the store doubles as the cache, so what it lacks is what to fetch.
      const info = await runCli(
        ["info", "--format", "json", "-s", fixture.store, "-c", fixture.store, fixture.index],
        ["--allow-read"],
      );
      assertEquals(info.code, 0, info.stderr);
      const parsed = JSON.parse(info.stdout);
      assertEquals(parsed.size, BLOB_CASES[0].size);
      assertEquals(parsed.unique, ids.length);
      assertEquals(parsed["in-store"], ids.length - 3);
      assertEquals(parsed["in-cache"], ids.length - 3);
      assertEquals(parsed["not-in-seed-nor-cache"], 3);
      assertEquals(parsed["dedup-size-not-in-seed-nor-cache"], removedBytes);
      assertEquals(parsed["dedup-size-not-in-seed"], BLOB_CASES[0].size);
      assert(parsed["chunk-size-avg"] === 65536);
    } finally {
      await removeDir(dir);
    }
  },
});
