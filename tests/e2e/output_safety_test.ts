/**
 * What an independent review found, each case as it was reproduced: outputs
 * that are not regular files, indexes that lie about chunk sizes, compression
 * bombs, a dead HTTP store, in-place zero regions, and outputs that must not
 * be overwritten.
 */
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import {
  blobStoreTest,
  mustRun,
  PERMISSIONS,
  pseudoRandom,
  removeDir,
  runCli,
  sha256sum,
  tempDir,
} from "../helpers.ts";
import { startFaultServer } from "../faults/fault_server.ts";
import { decodeIndex, encodeIndex, FLAG_SHA512_256 } from "../../src/format/index.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";

function outputTest(name: string, fn: (dir: string) => Promise<void>) {
  blobStoreTest(`output safety: ${name}`, 31, fn);
}

outputTest("a FIFO, a device or a link is not replaced by a renamed file", async (dir) => {
  const extract = (out: string, extra: string[] = []) =>
    runCli(["extract", ...extra, "-s", `${dir}/store`, `${dir}/blob.caibx`, out]);
  await mustRun("mkfifo", [`${dir}/fifo`]);
  const fifo = await extract(`${dir}/fifo`);
  assertEquals(fifo.code, 2, fifo.stderr);
  assertMatch(fifo.stderr, /^desync: .*fifo: is a FIFO, not a regular file: it is not replaced\n$/);
  assert(Deno.lstatSync(`${dir}/fifo`).isFifo, "the FIFO is still a FIFO");

  if (Deno.uid() === 0) {
    // A block device node (loop0's numbers; nothing is opened): in place with -k only.
    await mustRun("mknod", [`${dir}/device`, "b", "7", "0"]);
    const device = await extract(`${dir}/device`);
    assertEquals(device.code, 2, device.stderr);
    assertMatch(device.stderr, /is a block device: write it in place with -k/);
    assert(Deno.lstatSync(`${dir}/device`).isBlockDevice, "the node is still a device");
  }

  // A symbolic link is written through: the target gets the blob, the link stays.
  await Deno.writeFile(`${dir}/target`, new Uint8Array(10));
  await Deno.symlink(`${dir}/target`, `${dir}/link`);
  const linked = await extract(`${dir}/link`);
  assertEquals(linked.code, 0, linked.stderr);
  assert(Deno.lstatSync(`${dir}/link`).isSymlink, "the link is still a link");
  assertEquals(await sha256sum(`${dir}/target`), await sha256sum(`${dir}/blob`));
});

outputTest("cat streams into a FIFO, and refuses to overwrite its index", async (dir) => {
  await mustRun("mkfifo", [`${dir}/pipe`]);
  const reader = new Deno.Command("sha256sum", { args: [`${dir}/pipe`], stdout: "piped" }).spawn();
  const streamed = await runCli(["cat", "-s", `${dir}/store`, `${dir}/blob.caibx`, `${dir}/pipe`]);
  assertEquals(streamed.code, 0, streamed.stderr);
  const sum = new TextDecoder().decode((await reader.output()).stdout).split(" ")[0];
  assertEquals(sum, await sha256sum(`${dir}/blob`));

  const self = await runCli([
    "cat",
    "-s",
    `${dir}/store`,
    `${dir}/blob.caibx`,
    `${dir}/blob.caibx`,
  ]);
  assertEquals(self.code, 2, self.stderr);
  assertMatch(self.stderr, /the output would overwrite the index/);
  decodeIndex(await Deno.readFile(`${dir}/blob.caibx`)); // still an index
});

outputTest("an output replaced keeps its mode", async (dir) => {
  await Deno.writeFile(`${dir}/private`, new Uint8Array(1), { mode: 0o600 });
  await Deno.chmod(`${dir}/private`, 0o600);
  const result = await runCli([
    "extract",
    "-s",
    `${dir}/store`,
    `${dir}/blob.caibx`,
    `${dir}/private`,
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(Deno.statSync(`${dir}/private`).mode! & 0o777, 0o600);
});

outputTest("an index whose sizes disagree with the chunk data never yields a wrong output", async (
  dir,
) => {
  // Chunk 3's end moved 16 bytes earlier: its ID still names the longer data.
  const bytes = await Deno.readFile(`${dir}/blob.caibx`);
  const view = new DataView(bytes.buffer);
  const at = 64 + 3 * 40;
  view.setBigUint64(at, view.getBigUint64(at, true) - 16n, true);
  await Deno.writeFile(`${dir}/lying.caibx`, bytes);
  await Deno.copyFile(`${dir}/blob`, `${dir}/copy`);
  for (
    const extra of [[], ["--seed", `${dir}/blob.caibx:${dir}/copy`], ["--seed", `${dir}/copy`]]
  ) {
    const result = await runCli(
      ["extract", ...extra, "-s", `${dir}/store`, `${dir}/lying.caibx`, `${dir}/out`],
    );
    assertEquals(result.code, 1, `${extra.join(" ")}: ${result.stderr}`);
    assertMatch(result.stderr, /holds \d+ bytes, the index says \d+/);
    await Deno.stat(`${dir}/out`).then(() => assert(false, "an output was left"), () => {});
  }
  const cat = await runCli(
    ["cat", "-s", `${dir}/store`, `${dir}/lying.caibx`],
    PERMISSIONS.readOnly,
  );
  assertEquals(cat.code, 1);
  assertMatch(cat.stderr, /holds \d+ bytes, the index says \d+/);
});

Deno.test("output safety: a gzip bomb is refused past the chunk's size, in bounded memory", async (t) => {
  const dir = await tempDir(t);
  try {
    const plain = pseudoRandom(4096, 8); // not all zeros: those are never fetched
    const id = createHash("sha512-256").update(plain).digest("hex") as ChunkId;
    // 64 MiB of zeros in ~64 KiB of gzip, under the name of a 4 KiB chunk.
    const bomb = zlib.gzipSync(new Uint8Array(64 << 20), { level: 9 });
    await Deno.mkdir(`${dir}/store/${id.slice(0, 4)}`, { recursive: true });
    await Deno.writeFile(`${dir}/store/${id.slice(0, 4)}/${id}.cacnk`, bomb);
    const index = {
      featureFlags: FLAG_SHA512_256,
      chunkSizeMin: 1024,
      chunkSizeAvg: 4096,
      chunkSizeMax: 16384,
      chunks: [{ id, start: 0, size: 4096 }],
    };
    await Deno.writeFile(`${dir}/x.caibx`, encodeIndex(index));
    const result = await runCli(
      ["cat", "-s", `${dir}/store`, `${dir}/x.caibx`],
      PERMISSIONS.readOnly,
    );
    assertEquals(result.code, 1, result.stderr);
    assertMatch(result.stderr, /chunk [0-9a-f]{64} in store .* is invalid/);
  } finally {
    await removeDir(dir);
  }
});

outputTest("a store that accepts requests and never answers fails within its timeout", async (
  dir,
) => {
  const server = startFaultServer(dir, () => ({ kind: "stall" }));
  try {
    const started = performance.now();
    const result = await runCli(
      ["extract", "-n", "2", "--timeout", "1s", "-e", "0", "-s", `${server.url}/store/`]
        .concat([`${dir}/blob.caibx`, `${dir}/out`]),
      [...PERMISSIONS.local, "--allow-net=127.0.0.1"],
    );
    const seconds = (performance.now() - started) / 1000;
    assertEquals(result.code, 1);
    assertMatch(result.stderr, /GET chunk [0-9a-f]{64}: timed out/);
    // The first failure ends the batch: not one timeout per chunk.
    assert(seconds < 4, `took ${seconds.toFixed(1)} s`);
  } finally {
    await server.close();
  }
});

outputTest("-k leaves a new zero region sparse and reuses the output's own index dir", async (
  dir,
) => {
  const data = new Uint8Array(8 << 20);
  data.set(pseudoRandom(1 << 20, 5), 0);
  await Deno.writeFile(`${dir}/sparse`, data);
  const made = await runCli(["make", "-s", `${dir}/store`, `${dir}/sparse.caibx`, `${dir}/sparse`]);
  assertEquals(made.code, 0, made.stderr);
  // The output's index lies in the seed directory: with -k it is passed over, not an error.
  await Deno.mkdir(`${dir}/out`);
  await Deno.copyFile(`${dir}/sparse.caibx`, `${dir}/out/image.caibx`);
  const result = await runCli([
    "extract",
    "-k",
    "--seed-dir",
    `${dir}/out`,
    "-s",
    `${dir}/store`,
    `${dir}/sparse.caibx`,
    `${dir}/out/image`,
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(await sha256sum(`${dir}/out/image`), await sha256sum(`${dir}/sparse`));
  // 7 MiB of zeros past the data were never written: far fewer blocks than bytes.
  const blocks = Deno.statSync(`${dir}/out/image`).blocks!;
  assert(blocks * 512 < 3 << 20, `${blocks * 512} bytes allocated`);
});
