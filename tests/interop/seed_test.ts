/**
 * Update by difference, against casync-made indexes: v2 is v1 with scattered
 * edits, an insertion and a deletion. Extracting v2 with v1 at hand (as an
 * index seed, a plain file, a seed directory or the existing output) must
 * fetch exactly the chunks v2 has and v1 lacks, which are known independently
 * from the files casync wrote into two separate stores.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import {
  mustRun,
  pseudoRandomFast,
  removeDir,
  runCli,
  type RunResult,
  sha256sum,
  tempDir,
  which,
} from "../helpers.ts";
import { type CountingServer, serveCounting } from "../fixtures/counting_server.ts";
import { CASYNC_MISSING, storeIds } from "./casync_fixture.ts";

const FLAGS = ["--allow-read", "--allow-write", "--allow-net=127.0.0.1"];
const GO_DESYNC = new URL("../../../shared/peers/desync-go", import.meta.url).pathname;
const GO_MISSING = which("casync") && (() => {
  try {
    return Deno.statSync(GO_DESYNC).isFile ? false : "no Go desync";
  } catch {
    return `Go desync is not at ${GO_DESYNC}`;
  }
})();

interface Versions {
  dir: string;
  v1: string;
  v2: string;
  /** Chunk IDs of v2 that v1 lacks, from the file names casync wrote. */
  onlyInV2: Set<string>;
  v2Chunks: number;
  v2Sum: string;
}

/** v1 (6 MiB) and v2 made from it, each chunked by casync into a store of its own. */
async function makeVersions(dir: string): Promise<Versions> {
  const v1 = pseudoRandomFast(6 << 20, 11);
  const parts = [
    v1.subarray(0, 1_000_000),
    new TextEncoder().encode("an edit"),
    v1.subarray(1_000_007, 2_500_000),
    pseudoRandomFast(5000, 12), // inserted
    v1.subarray(2_500_000, 3_500_000),
    // 100 000 bytes deleted
    v1.subarray(3_600_000, 5_000_000),
    new TextEncoder().encode("another edit"),
    v1.subarray(5_000_012),
  ];
  const v2 = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    v2.set(part, at);
    at += part.length;
  }
  await Deno.writeFile(`${dir}/v1`, v1);
  await Deno.writeFile(`${dir}/v2`, v2);
  await mustRun("casync", ["make", `--store=${dir}/store1`, `${dir}/v1.caibx`, `${dir}/v1`]);
  await mustRun("casync", ["make", `--store=${dir}/store2`, `${dir}/v2.caibx`, `${dir}/v2`]);
  const inV1 = new Set(storeIds(`${dir}/store1`));
  const v2Ids = storeIds(`${dir}/store2`);
  return {
    dir,
    v1: `${dir}/v1`,
    v2: `${dir}/v2`,
    onlyInV2: new Set(v2Ids.filter((id) => !inV1.has(id))),
    v2Chunks: v2Ids.length,
    v2Sum: await sha256sum(`${dir}/v2`),
  };
}

function seedTest(name: string, fn: (versions: Versions, server: CountingServer) => Promise<void>) {
  Deno.test({
    name: `seeds: ${name}`,
    ignore: Boolean(CASYNC_MISSING),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      const dir = await tempDir(t);
      const server = serveCounting(`${dir}/store2`);
      try {
        await fn(await makeVersions(dir), server);
      } finally {
        await server.close();
        await removeDir(dir);
      }
    },
  });
}

function mustSucceed(result: RunResult) {
  assertEquals(result.code, 0, result.stderr);
}

/** The chunk fetches of one run: exactly v2's chunks that v1 lacks, each once. */
function assertFetchedOnlyNew(server: CountingServer, versions: Versions) {
  const fetched = server.chunkGets();
  assert(versions.onlyInV2.size > 0 && versions.onlyInV2.size < versions.v2Chunks / 4);
  assertEquals(new Set(fetched), versions.onlyInV2);
  assertEquals(fetched.length, versions.onlyInV2.size, "a chunk was fetched twice");
}

seedTest("an index seed, Go's INDEX:DATA form and a plain file seed", async (versions, server) => {
  const { dir } = versions;
  const extract = (seed: string, out: string) =>
    runCli(["extract", "-s", server.url, "--seed", seed, `${dir}/v2.caibx`, out], FLAGS);

  mustSucceed(await extract(`${dir}/v1.caibx`, `${dir}/out1`));
  assertEquals(await sha256sum(`${dir}/out1`), versions.v2Sum);
  assertFetchedOnlyNew(server, versions);

  // The same data elsewhere, named by INDEX:DATA.
  await Deno.copyFile(versions.v1, `${dir}/elsewhere`);
  server.gets.length = 0;
  mustSucceed(await extract(`${dir}/v1.caibx:${dir}/elsewhere`, `${dir}/out2`));
  assertEquals(await sha256sum(`${dir}/out2`), versions.v2Sum);
  assertFetchedOnlyNew(server, versions);

  // A plain file with no index next to it: chunked on the fly.
  server.gets.length = 0;
  const stats = await runCli(
    ["extract", "-s", server.url, "--seed", `${dir}/elsewhere`, "--print-stats"]
      .concat([`${dir}/v2.caibx`, `${dir}/out3`]),
    FLAGS,
  );
  mustSucceed(stats);
  assertEquals(await sha256sum(`${dir}/out3`), versions.v2Sum);
  assertFetchedOnlyNew(server, versions);
  const json = JSON.parse(stats.stdout);
  assertEquals(json["chunks-from-store"], versions.onlyInV2.size);
  assertEquals(json["chunks-from-seeds"] + json["chunks-from-store"], json["chunks-total"]);
  assertEquals(json["bytes-total"], (await Deno.stat(versions.v2)).size);
});

seedTest("the existing output and --seed-dir are seeds too", async (versions, server) => {
  const { dir } = versions;
  // Extracting v2 over v1 fetches only what differs; the result is still renamed into place.
  await Deno.copyFile(versions.v1, `${dir}/out`);
  mustSucceed(await runCli(["extract", "-s", server.url, `${dir}/v2.caibx`, `${dir}/out`], FLAGS));
  assertEquals(await sha256sum(`${dir}/out`), versions.v2Sum);
  assertFetchedOnlyNew(server, versions);

  // --no-seed-output fetches everything.
  await Deno.copyFile(versions.v1, `${dir}/out`);
  server.gets.length = 0;
  mustSucceed(
    await runCli(
      ["extract", "--no-seed-output", "-s", server.url, `${dir}/v2.caibx`, `${dir}/out`],
      FLAGS,
    ),
  );
  assertEquals(new Set(server.chunkGets()).size, versions.v2Chunks);

  // A seed directory holding v1 with its index, and the target index itself (skipped).
  await Deno.mkdir(`${dir}/seeds/sub`, { recursive: true });
  await Deno.copyFile(versions.v1, `${dir}/seeds/sub/v1`);
  await Deno.copyFile(`${dir}/v1.caibx`, `${dir}/seeds/sub/v1.caibx`);
  await Deno.copyFile(`${dir}/v2.caibx`, `${dir}/seeds/v2.caibx`); // no data beside it
  server.gets.length = 0;
  mustSucceed(
    await runCli(
      ["extract", "-s", server.url, "--seed-dir", `${dir}/seeds`, `${dir}/v2.caibx`, `${dir}/o2`],
      FLAGS,
    ),
  );
  assertEquals(await sha256sum(`${dir}/o2`), versions.v2Sum);
  assertFetchedOnlyNew(server, versions);
});

seedTest(
  "a tampered seed fails naming it, unless skipped or regenerated",
  async (versions, server) => {
    const { dir } = versions;
    const data = await Deno.readFile(versions.v1);
    data[4_000_000] ^= 0xff; // same size, one chunk's bytes changed
    await Deno.writeFile(versions.v1, data);
    const extract = (extra: string[], out: string) =>
      runCli(
        ["extract", "-s", server.url, "--seed", `${dir}/v1.caibx`, ...extra]
          .concat([`${dir}/v2.caibx`, `${dir}/${out}`]),
        FLAGS,
      );

    const failed = await extract([], "a");
    assertEquals(failed.code, 1);
    assertMatch(failed.stderr, /^desync: seed .*v1\.caibx: chunk [0-9a-f]{64} .*does not match/);
    assertEquals(failed.stderr.trim().split("\n").length, 1);
    assertEquals([...Deno.readDirSync(dir)].filter((e) => e.name.startsWith(".a")), []);
    await Deno.stat(`${dir}/a`).then(() => assert(false, "output exists"), () => {});

    mustSucceed(await extract(["--skip-invalid-seeds"], "b"));
    assertEquals(await sha256sum(`${dir}/b`), versions.v2Sum);

    server.gets.length = 0;
    mustSucceed(await extract(["--regenerate-invalid-seeds"], "c"));
    assertEquals(await sha256sum(`${dir}/c`), versions.v2Sum);
    // Re-chunked, the seed still supplies all but the chunk that changed (and its neighbours).
    assert(server.chunkGets().length < versions.onlyInV2.size + 4, `${server.chunkGets().length}`);
  },
);

seedTest("casync, Go desync and desync agree on seeded extracts", async (versions, server) => {
  const { dir } = versions;
  mustSucceed(
    await runCli(
      ["extract", "-s", server.url, "--seed", `${dir}/v1.caibx`, `${dir}/v2.caibx`, `${dir}/ours`],
      FLAGS,
    ),
  );
  await mustRun("casync", [
    "extract",
    `--store=${dir}/store2`,
    `--seed=${versions.v1}`,
    `${dir}/v2.caibx`,
    `${dir}/theirs`,
  ]);
  assertEquals(await sha256sum(`${dir}/ours`), versions.v2Sum);
  assertEquals(await sha256sum(`${dir}/theirs`), versions.v2Sum);
  if (!GO_MISSING) {
    await mustRun(GO_DESYNC, [
      "extract",
      "-s",
      `${dir}/store2`,
      "--seed",
      `${dir}/v1.caibx`,
      `${dir}/v2.caibx`,
      `${dir}/go`,
    ]);
    assertEquals(await sha256sum(`${dir}/go`), versions.v2Sum);
  }
});

seedTest("info --seed counts what the seeds hold", async (versions) => {
  const { dir } = versions;
  const result = await runCli(
    ["info", "--format", "json", "--seed", `${dir}/v1.caibx`, `${dir}/v2.caibx`],
    ["--allow-read"],
  );
  mustSucceed(result);
  const info = JSON.parse(result.stdout);
  assertEquals(info["not-in-seed-nor-cache"], versions.onlyInV2.size);
  assertEquals(info["in-seed"], versions.v2Chunks - versions.onlyInV2.size);
});

for (const signal of ["SIGINT", "SIGKILL"] as const) {
  seedTest(`an in-place extract interrupted by ${signal} is finished by a re-run`, async (
    versions,
    server,
  ) => {
    const { dir } = versions;
    const out = `${dir}/inplace`;
    const args = ["extract", "-k", "-n", "2", "-s", server.url, `${dir}/v2.caibx`, out];
    server.delayMs = 40;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...FLAGS, new URL("../../src/main.ts", import.meta.url).pathname]
        .concat(args),
      stdout: "null",
      stderr: "piped",
    }).spawn();
    while (server.gets.length < versions.v2Chunks / 3) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill(signal);
    const status = await child.status;
    await child.stderr.cancel();
    if (signal === "SIGINT") assertEquals(status.code, 130);
    else assertEquals(status.signal, "SIGKILL");
    const first = new Set(server.chunkGets());
    assert(first.size < versions.v2Chunks, "the run finished before it was interrupted");

    server.delayMs = 0;
    server.gets.length = 0;
    mustSucceed(await runCli(args, FLAGS));
    assertEquals(await sha256sum(out), versions.v2Sum);
    const second = server.chunkGets();
    // Only what the first run had not written is fetched again (at most the -n in flight).
    const again = second.filter((id) => first.has(id));
    assert(again.length <= 2, `${again.length} chunks fetched twice`);
    assertEquals(new Set([...first, ...second]).size, versions.v2Chunks);
  });
}
