/**
 * The core commands against the real casync: casync makes the indexes and stores,
 * sha256sum and casync's own file names are the independent witnesses.
 */
import zlib from "node:zlib";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { mustRun, removeDir, runCli, sha256sum, tempDir } from "../helpers.ts";
import { BLOB_CASES, blobBytes, CASYNC_MISSING, casyncMake, storeIds } from "./casync_fixture.ts";

for (const blobCase of BLOB_CASES) {
  Deno.test({
    name: `casync interop (${blobCase.name}): extract, list-chunks, chop, cache`,
    ignore: Boolean(CASYNC_MISSING),
    async fn(t) {
      const dir = await tempDir(t);
      try {
        const fixture = await casyncMake(dir, blobCase);
        const want = await sha256sum(fixture.blob);

        await t.step("our extract of casync's index and store is byte-identical", async () => {
          const out = `${dir}/extracted`;
          const result = await runCli(["extract", "-s", fixture.store, fixture.index, out]);
          assertEquals(result.code, 0, result.stderr);
          assertEquals(await sha256sum(out), want);
          const leftovers = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".tmp"));
          assertEquals(leftovers, []);
        });

        await t.step("list-chunks names exactly casync's chunks, in blob order", async () => {
          const result = await runCli(["list-chunks", fixture.index], ["--allow-read"]);
          assertEquals(result.code, 0, result.stderr);
          const ids = result.stdout.split("\n").filter(Boolean);
          assertEquals([...new Set(ids)].sort(), storeIds(fixture.store));
          // Concatenating casync's chunk files in the listed order must give the blob back.
          const joined = `${dir}/joined`;
          const file = await Deno.open(joined, { write: true, create: true, truncate: true });
          for (const id of ids) {
            const frame = await Deno.readFile(`${fixture.store}/${id.slice(0, 4)}/${id}.cacnk`);
            await file.write(new Uint8Array(zlib.zstdDecompressSync(frame)));
          }
          file.close();
          assertEquals(await sha256sum(joined), want);
        });

        await t.step(
          "our chop makes a store casync extracts from; files match casync's",
          async () => {
            const store = `${dir}/chopped.store`;
            const result = await runCli(["chop", "-s", store, fixture.index, fixture.blob]);
            assertEquals(result.code, 0, result.stderr);
            assertEquals(storeIds(store), storeIds(fixture.store));
            for (const id of storeIds(store)) {
              const path = `${id.slice(0, 4)}/${id}.cacnk`;
              const ours = await Deno.readFile(`${store}/${path}`);
              const theirs = await Deno.readFile(`${fixture.store}/${path}`);
              assertEquals(ours, theirs, `chunk file ${path} differs from casync's`);
            }
            if (blobCase.size > 0) {
              const out = `${dir}/casync-extracted`;
              await mustRun("casync", ["extract", `--store=${store}`, fixture.index, out]);
              assertEquals(await sha256sum(out), want);
            }
          },
        );

        await t.step("cache fills an empty cache; extract then needs only the cache", async () => {
          const cache = `${dir}/cache.store`;
          const result = await runCli(["cache", "-s", fixture.store, "-c", cache, fixture.index]);
          assertEquals(result.code, 0, result.stderr);
          assertEquals(storeIds(cache), storeIds(fixture.store));
          const out = `${dir}/from-cache`;
          const extracted = await runCli(["extract", "-s", cache, fixture.index, out]);
          assertEquals(extracted.code, 0, extracted.stderr);
          assertEquals(await sha256sum(out), want);
        });
      } finally {
        await removeDir(dir);
      }
    },
  });
}

Deno.test({
  name: "casync interop: verify finds a corrupted chunk, -r removes it, casync agrees",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      for (const blobCase of [BLOB_CASES[0], BLOB_CASES[5]]) {
        const fixture = await casyncMake(dir, blobCase);
        const ids = storeIds(fixture.store);
        const victim = ids[Math.floor(ids.length / 2)];
        const path = `${fixture.store}/${victim.slice(0, 4)}/${victim}.cacnk`;
        const bytes = await Deno.readFile(path);
        bytes[bytes.length >> 1] ^= 0xff;
        await Deno.writeFile(path, bytes);
        // casync itself refuses the damaged store: the damage is real.
        const casync = await runCliOrCasync(fixture, dir);
        assert(casync !== 0, "casync should fail on the corrupted chunk");

        const found = await runCli(["verify", "-s", fixture.store], ["--allow-read"]);
        assertEquals(found.code, 1, found.stderr);
        assertEquals(found.stdout.trim().split("\n").length, 1, found.stdout);
        assertMatch(found.stdout, new RegExp(`chunk ${victim} .* invalid`));
        assertMatch(found.stderr, /1 of \d+ chunks invalid/);

        const repaired = await runCli(["verify", "-r", "-s", fixture.store]);
        assertEquals(repaired.code, 1);
        assertEquals(storeIds(fixture.store), ids.filter((id) => id !== victim));
        const clean = await runCli(["verify", "-s", fixture.store], ["--allow-read"]);
        assertEquals(clean.code, 0, clean.stderr);
        assertEquals(clean.stdout, "");
      }
    } finally {
      await removeDir(dir);
    }
  },
});

async function runCliOrCasync(fixture: { index: string; store: string }, dir: string) {
  const out = `${dir}/casync-out-${crypto.randomUUID()}`;
  const child = new Deno.Command("casync", {
    args: ["extract", `--store=${fixture.store}`, fixture.index, out],
    stdout: "null",
    stderr: "null",
  });
  return (await child.output()).code;
}

Deno.test({
  name: "casync interop: a .caidx (archive index) is read like a .caibx",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      await Deno.mkdir(`${dir}/tree/sub`, { recursive: true });
      await Deno.writeFile(`${dir}/tree/a.bin`, blobBytes(BLOB_CASES[0]));
      await Deno.writeTextFile(`${dir}/tree/sub/b.txt`, "hello casync\n".repeat(10_000));
      await mustRun("casync", ["make", `--store=${dir}/store`, `${dir}/tree.caidx`, `${dir}/tree`]);
      const listed = await runCli(["list-chunks", `${dir}/tree.caidx`], ["--allow-read"]);
      assertEquals(listed.code, 0, listed.stderr);
      assertEquals([...new Set(listed.stdout.trim().split("\n"))].sort(), storeIds(`${dir}/store`));
      const cached = await runCli([
        "cache",
        "-s",
        `${dir}/store`,
        "-c",
        `${dir}/cache`,
        `${dir}/tree.caidx`,
      ]);
      assertEquals(cached.code, 0, cached.stderr);
      assertEquals(storeIds(`${dir}/cache`), storeIds(`${dir}/store`));
      // The archive stream itself, rebuilt from the index, is what casync's own store holds.
      const catted = await runCli([
        "cat",
        "-s",
        `${dir}/cache`,
        `${dir}/tree.caidx`,
        `${dir}/tree.catar`,
      ]);
      assertEquals(catted.code, 0, catted.stderr);
      const bytes = await Deno.readFile(`${dir}/tree.catar`);
      assert(bytes.length > 130_000, `catar of ${bytes.length} bytes`);
    } finally {
      await removeDir(dir);
    }
  },
});

Deno.test({
  name: "casync interop: gzip and xz chunk stores (casync --compression) are read and verified",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      await Deno.writeFile(`${dir}/blob`, blobBytes(BLOB_CASES[0]));
      const want = await sha256sum(`${dir}/blob`);
      for (const compression of ["gzip", "xz"]) {
        const store = `${dir}/${compression}.store`;
        const index = `${dir}/${compression}.caibx`;
        await mustRun("casync", [
          "make",
          `--compression=${compression}`,
          `--store=${store}`,
          index,
          `${dir}/blob`,
        ]);
        const out = `${dir}/${compression}.out`;
        const extracted = await runCli(["extract", "-s", store, index, out]);
        assertEquals(extracted.code, 0, `${compression}: ${extracted.stderr}`);
        assertEquals(await sha256sum(out), want);
        const clean = await runCli(["verify", "-s", store], ["--allow-read"]);
        assertEquals(clean.code, 0, `${compression}: ${clean.stderr}`);
        const victim = storeIds(store)[0];
        const path = `${store}/${victim.slice(0, 4)}/${victim}.cacnk`;
        const bytes = await Deno.readFile(path);
        bytes[bytes.length >> 1] ^= 0xff;
        await Deno.writeFile(path, bytes);
        const found = await runCli(["verify", "-s", store], ["--allow-read"]);
        assertEquals(found.code, 1, `${compression}: ${found.stderr}`);
        assertMatch(found.stdout, new RegExp(`chunk ${victim} .* invalid`));
      }
    } finally {
      await removeDir(dir);
    }
  },
});
