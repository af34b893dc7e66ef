/**
 * Benchmarks desync against casync and Go desync (when ../shared/peers/desync-go
 * exists) on the same data in one run. Prints medians of wall and CPU time,
 * throughput, peak memory and ratios (their time / our time: above 1 means we
 * are faster), after the machine's hash and zstd limits. Data is warm (in the
 * page cache).
 *
 *   deno task bench [--size MiB] [--rounds N] [--data random,compressible]
 *                   [--only extract,http,ssh,make,update,tools,tar,server,s3,memory]
 *                   [--clients N] [--seconds S] [--soak S] [--load wrk|deno]
 *
 * `compressible` is a tar of installed system files, made on the spot.
 * `update` extracts v2 of the blob (v1 with scattered edits, an insertion and a
 * deletion) over HTTP with v1 as the seed, and reports the bytes each fetched.
 * `tar` archives a tree of 20 000 small files and a few large ones.
 * `server` loads our chunk-server, Go desync's and nginx with N clients
 * (scripts/bench/servers.ts); --soak also runs ours that long, watching its memory.
 * `memory` (not in the default list) runs our extract and make on 64 MiB, 256 MiB and
 * 1 GiB of random data and a 4 GiB sparse file, for the peak-memory column.
 * `s3` (not in the default list) extracts from S3 on a throwaway Ceph cluster and
 * from nginx, at -n 10 and -n 32, and Go desync from the same bucket.
 */
import { Bench, freeBytes } from "./bench/harness.ts";
import { benchBlobs, type DataSet, makeBlob } from "./bench/blobs.ts";
import { benchTrees } from "./bench/trees.ts";
import { measureCasyncQueue, measureLimits } from "./bench/limits.ts";
import { benchServers, printServerRows, type ServerBenchRow } from "./bench/servers.ts";
import { benchS3 } from "./bench/s3.ts";
import { benchMemory } from "./bench/memory.ts";

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] ? Deno.args[i + 1] : fallback;
}

const sizeMiB = Number(option("size", "256"));
const rounds = Number(option("rounds", "3"));
const only = option("only", "extract,http,ssh,make,update,tools,tar,server").split(",");
const clients = Number(option("clients", "32"));
const dataSets = option("data", "random,compressible").split(",") as DataSet[];

console.error(
  `bench: ${sizeMiB} MiB blobs (${dataSets.join(", ")}), ${rounds} rounds, ` +
    `${navigator.hardwareConcurrency} cores`,
);
console.error(`bench: ${measureLimits()}`);
if (["http", "ssh"].some((op) => only.includes(op))) {
  console.error(`bench: ${measureCasyncQueue()}`);
}
let serverRows: ServerBenchRow[] = [];
const benchDir = await Deno.makeTempDir({ prefix: "desync-bench-" });
// What finished runs leave (stores, trees) is kept until the end (see Bench.discard):
// make's rows alone leave each tool's store once a round, for both data sets.
const keepNeeds = (6 * rounds * sizeMiB + 4096) * 1048576;
const free = await freeBytes(benchDir);
const keepDiscarded = free === undefined || free > keepNeeds;
if (!keepDiscarded) {
  console.error(
    `bench: ${(free! / 2 ** 30).toFixed(1)} GiB free, keeping finished runs needs ` +
      `${(keepNeeds / 2 ** 30).toFixed(1)}: they are deleted at once, and the make and tar rows ` +
      `include the kernel's scan of recently freed inodes (ext4 without a journal)`,
  );
}
const bench = new Bench(benchDir, rounds, keepDiscarded);
try {
  if (["extract", "http", "ssh", "make", "update", "tools"].some((op) => only.includes(op))) {
    for (const data of dataSets) {
      await benchBlobs(bench, only, sizeMiB, data);
      // Each data set starts from an empty directory (stores, outputs set aside).
      for (const entry of [...Deno.readDirSync(bench.dir)]) {
        if (entry.name !== ".discarded") await bench.discard(`${bench.dir}/${entry.name}`);
      }
    }
  }
  if (only.includes("tar")) await benchTrees(bench);
  if (only.includes("s3")) await benchS3(bench, sizeMiB);
  if (only.includes("memory")) await benchMemory(bench);
  if (only.includes("server")) {
    const store = `${bench.dir}/server-store`;
    await makeBlob(`${bench.dir}/server-blob`, sizeMiB, "random");
    await bench.measure("casync", [
      "make",
      `--store=${store}`,
      `${bench.dir}/server.caibx`,
      `${bench.dir}/server-blob`,
    ]);
    serverRows = await benchServers({
      store,
      dir: bench.dir,
      clients,
      seconds: Number(option("seconds", "10")),
      soakSeconds: Number(option("soak", "0")),
      loader: option("load", "auto") === "deno" ? "deno" : "auto",
    });
  }
} finally {
  await Deno.remove(bench.dir, { recursive: true });
}
bench.report();
if (serverRows.length) printServerRows(serverRows, clients);
