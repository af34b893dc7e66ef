/**
 * A cache filled from a casync store compressed with gzip or xz holds zstd
 * chunk files (what casync and Go desync read), never the gzip or xz bytes.
 */
import { assertEquals } from "../assert.ts";
import {
  missingTools,
  mustRun,
  pseudoRandom,
  removeDir,
  runCli,
  sha256sum,
  tempDir,
} from "../helpers.ts";
import { storeIds } from "./casync_fixture.ts";

const GO_DESYNC = new URL("../../../shared/peers/desync-go", import.meta.url).pathname;
const HAVE_GO = (() => {
  try {
    return Deno.statSync(GO_DESYNC).isFile;
  } catch {
    return false;
  }
})();
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

for (const compression of ["gzip", "xz"]) {
  Deno.test({
    name:
      `cache: extract -c and cat -c from a ${compression} casync store fill the cache with zstd`,
    ignore: Boolean(missingTools("casync")),
    async fn(t) {
      const dir = await tempDir(t);
      try {
        await Deno.writeFile(`${dir}/blob`, pseudoRandom(400_000, 21));
        await mustRun("casync", [
          "make",
          `--compression=${compression}`,
          `--store=${dir}/store`,
          "--chunk-size=16384:32768:65536",
          `${dir}/blob.caibx`,
          `${dir}/blob`,
        ]);
        for (const [command, cache] of [["extract", "c1"], ["cat", "c2"]]) {
          const result = await runCli([
            command,
            "-s",
            `${dir}/store`,
            "-c",
            `${dir}/${cache}`,
            `${dir}/blob.caibx`,
            `${dir}/out-${cache}`,
          ]);
          assertEquals(result.code, 0, result.stderr);
          assertEquals(await sha256sum(`${dir}/out-${cache}`), await sha256sum(`${dir}/blob`));
          const ids = storeIds(`${dir}/${cache}`);
          assertEquals(ids, storeIds(`${dir}/store`));
          for (const id of ids) {
            const head = (await Deno.readFile(`${dir}/${cache}/${id.slice(0, 4)}/${id}.cacnk`))
              .subarray(0, 4);
            assertEquals([...head], ZSTD_MAGIC, `${command}: ${id} is not a zstd frame`);
          }
          // casync reads the cache as a store (and so does Go desync, where it is).
          await mustRun("casync", [
            "extract",
            `--store=${dir}/${cache}`,
            `${dir}/blob.caibx`,
            `${dir}/casync-${cache}`,
          ]);
          assertEquals(await sha256sum(`${dir}/casync-${cache}`), await sha256sum(`${dir}/blob`));
          if (HAVE_GO) {
            await mustRun(GO_DESYNC, [
              "extract",
              "-s",
              `${dir}/${cache}`,
              `${dir}/blob.caibx`,
              `${dir}/go-${cache}`,
            ]);
            assertEquals(await sha256sum(`${dir}/go-${cache}`), await sha256sum(`${dir}/blob`));
          }
        }
      } finally {
        await removeDir(dir);
      }
    },
  });
}
