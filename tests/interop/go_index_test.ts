/**
 * Indexes Go desync makes that casync would refuse are still read: Go desync's
 * `make -m` takes chunk sizes past casync's 128 MiB limit.
 */
import { assertEquals } from "../assert.ts";
import { mustRun, pseudoRandom, runCli, sha256sum, tempDirTest } from "../helpers.ts";
import { GO_DESYNC, GO_MISSING } from "./peers.ts";

tempDirTest(
  "Go desync's index with a 256 MiB maximum chunk size is read and extracted",
  async (dir) => {
    const blob = `${dir}/blob`;
    await Deno.writeFile(blob, pseudoRandom(3 << 20, 7));
    await Deno.mkdir(`${dir}/store`); // Go desync makes no store directory
    // Go's -m is in kB: a 256 MiB maximum, so the 3 MiB blob is one chunk.
    await mustRun(GO_DESYNC, [
      "make",
      "-s",
      `${dir}/store`,
      "-m",
      "16:64:262144",
      `${dir}/go.caibx`,
      blob,
    ]);
    const info = await runCli(["info", `${dir}/go.caibx`]);
    assertEquals(info.code, 0, info.stderr);
    assertEquals(JSON.parse(info.stdout)["chunk-size-max"], 256 << 20);
    const extract = await runCli([
      "extract",
      "-s",
      `${dir}/store`,
      `${dir}/go.caibx`,
      `${dir}/out`,
    ]);
    assertEquals(extract.code, 0, extract.stderr);
    assertEquals(await sha256sum(`${dir}/out`), await sha256sum(blob));
  },
  GO_MISSING,
);
