/** --regenerate-invalid-seeds in cat as in extract: an invalid index seed's data is re-chunked. */
import { assertEquals, assertMatch } from "../assert.ts";
import { readIndex } from "../../src/ops/read_index.ts";
import { blobStoreTest, runCli, sha256sum, swapFirstTwoChunks } from "../helpers.ts";

blobStoreTest(
  "cli seeds: cat and extract re-chunk an index seed whose data no longer matches",
  22,
  async (dir) => {
    await Deno.mkdir(`${dir}/empty-store`);
    const { chunks } = await readIndex(`${dir}/blob.caibx`);
    await Deno.writeFile(
      `${dir}/seed`,
      swapFirstTwoChunks(await Deno.readFile(`${dir}/blob`), chunks),
    );
    await Deno.copyFile(`${dir}/blob.caibx`, `${dir}/seed.caibx`);
    const args = ["-s", `${dir}/empty-store`, "--seed", `${dir}/seed.caibx`, `${dir}/blob.caibx`];
    const want = await sha256sum(`${dir}/blob`);

    const skipped = await runCli(["cat", "--skip-invalid-seeds", ...args, `${dir}/skipped`]);
    assertEquals(skipped.code, 1, skipped.stderr);
    assertMatch(skipped.stderr, /^desync: chunk [0-9a-f]{64} missing from all stores\n$/);

    for (const command of ["cat", "extract"]) {
      const out = `${dir}/${command}.out`;
      const result = await runCli([command, "--regenerate-invalid-seeds", ...args, out]);
      assertEquals(result.code, 0, `${command}: ${result.stderr}`);
      assertEquals(await sha256sum(out), want, command);
    }
  },
);
