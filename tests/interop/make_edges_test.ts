/**
 * make at the edges of casync's chunk-size settings and inputs, against the real
 * `casync make`: what casync accepts we accept and write byte for byte, what it
 * refuses we refuse with a `desync:` line and exit 2.
 */
import { assertEquals, assertMatch } from "../assert.ts";
import { mustRun, pseudoRandomFast, removeDir, runCli, runTool, tempDir } from "../helpers.ts";
import { CASYNC_MISSING, storeIds } from "./casync_fixture.ts";

/** casync's `--chunk-size` value and ours for the same bytes (ours needs the unit). */
function withUnits(casyncSizes: string): string {
  return casyncSizes.split(":").map((size) => /\d$/.test(size) ? `${size}B` : size).join(":");
}

Deno.test({
  name: "casync interop: chunk sizes under the 48-byte window that casync takes, byte for byte",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const blob = `${dir}/blob`;
      await Deno.writeFile(blob, pseudoRandomFast(20_000, 11));
      // min under the window, fixed sizes under it, a maximum of exactly the window, and
      // single averages (casync derives avg/4 and avg*4, the latter capped at 128 MiB).
      const cases = ["16:32:64", "1:48:96", "32:32:32", "1:1:1", "40:48:48", "12", "128M"];
      for (const sizes of cases) {
        const theirs = `${dir}/casync-${sizes}.caibx`;
        const theirStore = `${dir}/casync-${sizes}.store`;
        await mustRun("casync", [
          "make",
          `--chunk-size=${sizes}`,
          `--store=${theirStore}`,
          theirs,
          blob,
        ]);
        const ours = `${dir}/ours-${sizes}.caibx`;
        const ourStore = `${dir}/ours-${sizes}.store`;
        const made = await runCli(["make", "-m", withUnits(sizes), "-s", ourStore, ours, blob]);
        assertEquals(made.code, 0, `${sizes}: ${made.stderr}`);
        assertEquals(await Deno.readFile(ours), await Deno.readFile(theirs), sizes);
        assertEquals(storeIds(ourStore), storeIds(theirStore), sizes);
      }
    } finally {
      await removeDir(dir);
    }
  },
});

Deno.test({
  name: "casync interop: sizes with a fraction and a unit count as casync counts them",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const blob = `${dir}/blob`;
      await Deno.writeFile(blob, pseudoRandomFast(200_000, 14));
      for (const sizes of ["1.1K", "0.3K", "1.999K", "100.7B:300.2B:4.5K", "0.1G"]) {
        const theirs = `${dir}/casync.caibx`;
        await mustRun("casync", ["make", `--chunk-size=${sizes}`, theirs, blob]);
        const ours = `${dir}/ours.caibx`;
        const made = await runCli(["make", "-m", sizes, ours, blob]);
        assertEquals(made.code, 0, `${sizes}: ${made.stderr}`);
        assertEquals(await Deno.readFile(ours), await Deno.readFile(theirs), sizes);
      }
    } finally {
      await removeDir(dir);
    }
  },
});

Deno.test({
  name: "casync interop: a maximum under the 48-byte window without fixed sizes is refused",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const blob = `${dir}/blob`;
      await Deno.writeFile(blob, pseudoRandomFast(5_000, 12));
      // casync takes these settings, then fails on the first chunk: its window makes it 48 bytes.
      for (const sizes of ["2:3:4", "10:20:30", "1"]) {
        const theirs = await runTool("casync", [
          "make",
          `--chunk-size=${sizes}`,
          `--store=${dir}/casync.store`,
          `${dir}/casync.caibx`,
          blob,
        ]);
        assertEquals(theirs.code !== 0, true, `casync took ${sizes}`);
        const ours = await runCli(["make", "-m", withUnits(sizes), `${dir}/ours.caibx`, blob]);
        assertEquals(ours.code, 2, sizes);
        assertMatch(ours.stderr, /^desync: -m\/--chunk-size .*48-byte rolling-hash window/);
      }
    } finally {
      await removeDir(dir);
    }
  },
});

Deno.test({
  name:
    "casync interop: averages from 8.9 MiB on, where casync's discriminator divisor is negative",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const blob = `${dir}/blob`;
      await Deno.writeFile(blob, pseudoRandomFast(4 << 20, 13));
      // Below and above the average where -1.42888852e-7 * avg + 1.33237515 crosses 0.
      for (const sizes of ["1K:8M:16M", "64:9324560:9324560", "1K:16M:64M", "4M:12M:12M"]) {
        const theirs = `${dir}/casync.caibx`;
        await mustRun("casync", ["make", `--chunk-size=${sizes}`, theirs, blob]);
        const ours = `${dir}/ours.caibx`;
        const made = await runCli(["make", "-m", withUnits(sizes), ours, blob]);
        assertEquals(made.code, 0, `${sizes}: ${made.stderr}`);
        // The chunk counts first: a diff of two long indexes would take minutes to print.
        const [a, b] = [await Deno.readFile(ours), await Deno.readFile(theirs)];
        assertEquals((a.length - 104) / 40, (b.length - 104) / 40, `${sizes}: chunks`);
        assertEquals(a, b, sizes);
      }
    } finally {
      await removeDir(dir);
    }
  },
});
