/**
 * The CLI as a user runs it: a subprocess with the README's permission flags.
 * Indexes here are cut at fixed offsets and named by node:crypto digests, so
 * they need no chunker of ours; sha256sum is the witness for outputs.
 */
import { createHash } from "node:crypto";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { encodeIndex, FLAG_SHA512_256 } from "../../src/format/index.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { MAIN, pseudoRandom, removeDir, runCli, runTool, sha256sum, tempDir } from "../helpers.ts";
import denoConfig from "../../deno.json" with { type: "json" };

interface Fixture {
  dir: string;
  blob: string;
  index: string;
  ids: ChunkId[];
}

/** A 300 KB blob (with one chunk repeated) and its index, cut every 40 000 bytes. */
async function makeFixture(dir: string): Promise<Fixture> {
  const piece = pseudoRandom(40_000, 11);
  const data = new Uint8Array(300_000);
  data.set(pseudoRandom(300_000, 12));
  data.set(piece, 0);
  data.set(piece, 80_000);
  const chunks = [];
  for (let start = 0; start < data.length; start += 40_000) {
    const plain = data.subarray(start, Math.min(start + 40_000, data.length));
    const id = createHash("sha512-256").update(plain).digest("hex") as ChunkId;
    chunks.push({ id, start, size: plain.length });
  }
  const index = encodeIndex({
    featureFlags: FLAG_SHA512_256,
    chunkSizeMin: 10_000,
    chunkSizeAvg: 40_000,
    chunkSizeMax: 160_000,
    chunks,
  });
  await Deno.writeFile(`${dir}/blob`, data);
  await Deno.writeFile(`${dir}/blob.caibx`, index);
  return { dir, blob: `${dir}/blob`, index: `${dir}/blob.caibx`, ids: chunks.map((c) => c.id) };
}

function e2e(name: string, fn: (fixture: Fixture) => Promise<void>) {
  Deno.test(`cli: ${name}`, async (t) => {
    const dir = await tempDir(t);
    try {
      await fn(await makeFixture(dir));
    } finally {
      await removeDir(dir);
    }
  });
}

function oneLine(stderr: string) {
  assertEquals(stderr.trim().split("\n").length, 1, `want one line on stderr, got: ${stderr}`);
}

function leftovers(dir: string) {
  return [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".tmp")).map((e) => e.name);
}

e2e("chop then extract round-trips; the index may come from stdin", async (f) => {
  const chop = await runCli(["chop", "-s", `${f.dir}/store`, f.index, f.blob]);
  assertEquals(chop.code, 0, chop.stderr);
  const out = `${f.dir}/out`;
  const extract = await runCli(["extract", "-s", `${f.dir}/store`, "-", out], undefined, {
    stdin: await Deno.readFile(f.index),
  });
  assertEquals(extract.code, 0, extract.stderr);
  assertEquals(await sha256sum(out), await sha256sum(f.blob));
});

e2e(
  "a chunk missing from the first store is taken from the second; -c fills the cache",
  async (f) => {
    await runCli(["chop", "-s", `${f.dir}/a`, f.index, f.blob]);
    await runCli(["chop", "-s", `${f.dir}/b`, f.index, f.blob]);
    await Deno.remove(`${f.dir}/a/${f.ids[3].slice(0, 4)}/${f.ids[3]}.cacnk`);
    const out = `${f.dir}/out`;
    const args = ["extract", "-s", `${f.dir}/a`, "-s", `${f.dir}/b`, "-c", `${f.dir}/cache`];
    const result = await runCli([...args, f.index, out]);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(await sha256sum(out), await sha256sum(f.blob));
    const cached = [...Deno.readDirSync(`${f.dir}/cache`)].length;
    assertEquals(cached, new Set(f.ids.map((id) => id.slice(0, 4))).size);
  },
);

e2e("a missing chunk fails with one line naming it; no output is left", async (f) => {
  await runCli(["chop", "-s", `${f.dir}/store`, f.index, f.blob]);
  await Deno.remove(`${f.dir}/store/${f.ids[5].slice(0, 4)}/${f.ids[5]}.cacnk`);
  const result = await runCli(["extract", "-s", `${f.dir}/store`, f.index, `${f.dir}/out`]);
  assertEquals(result.code, 1);
  oneLine(result.stderr);
  assertMatch(result.stderr, new RegExp(`chunk ${f.ids[5]} missing`));
  assertEquals(leftovers(f.dir), []);
  assert(!(await exists(`${f.dir}/out`)), "no output under the final name");
});

e2e("a corrupt chunk fails naming the chunk and the store", async (f) => {
  await runCli(["chop", "-s", `${f.dir}/store`, f.index, f.blob]);
  await Deno.writeFile(
    `${f.dir}/store/${f.ids[2].slice(0, 4)}/${f.ids[2]}.cacnk`,
    new Uint8Array(9),
  );
  const result = await runCli(["extract", "-s", `${f.dir}/store`, f.index, `${f.dir}/out`]);
  assertEquals(result.code, 1);
  oneLine(result.stderr);
  assertMatch(result.stderr, new RegExp(`chunk ${f.ids[2]} in store .*store is invalid`));
  assertEquals(leftovers(f.dir), []);
});

e2e("a malformed index fails naming the file", async (f) => {
  const bytes = await Deno.readFile(f.index);
  await Deno.writeFile(f.index, bytes.subarray(0, bytes.length - 3));
  const result = await runCli(["list-chunks", f.index], ["--allow-read"]);
  assertEquals(result.code, 1);
  oneLine(result.stderr);
  assertMatch(result.stderr, /blob\.caibx: invalid index: truncated/);
});

e2e("an unreachable store fails naming it", async (f) => {
  const result = await runCli(["extract", "-s", `${f.dir}/nowhere`, f.index, `${f.dir}/out`]);
  assertEquals(result.code, 1);
  oneLine(result.stderr);
  assertMatch(result.stderr, /store .*nowhere: no such file or directory/);
});

e2e("chop names the offset of a piece that does not match the index", async (f) => {
  const bytes = await Deno.readFile(f.blob);
  bytes[120_005] ^= 1;
  await Deno.writeFile(f.blob, bytes);
  const result = await runCli(["chop", "-s", `${f.dir}/store`, f.index, f.blob]);
  assertEquals(result.code, 1);
  oneLine(result.stderr);
  assertMatch(result.stderr, /chunk 3 at offset 120000 .* hashes to/);
});

e2e("bad flags and arguments are usage errors (exit 2)", async (f) => {
  for (
    const args of [
      ["extract", "-n", "0", "-s", "x", f.index, "out"],
      ["extract", "-s", "x", f.index],
      ["extract", "--no-such-flag", f.index, "out"],
      ["extract", f.index, `${f.dir}/out`],
      ["no-such-command"],
      ["verify", "-s", "x", "--digest", "md5"],
      ["extract", "-s", "ftp://host/store", f.index, `${f.dir}/out`],
    ]
  ) {
    const result = await runCli(args);
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert(result.stderr.trim().length > 0, `${args.join(" ")} explains itself`);
  }
});

e2e("--help and --version", async () => {
  const help = await runCli(["--help"], []);
  assertEquals(help.code, 0);
  for (const command of ["extract", "verify", "list-chunks", "cache", "chop"]) {
    assertMatch(help.stdout, new RegExp(`\\b${command}\\b`));
  }
  const version = await runCli(["--version"], []);
  assertEquals(version.stdout.trim(), denoConfig.version);
});

async function exists(path: string) {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

e2e("an output that cannot be written fails naming it, before any work", async (f) => {
  await runCli(["chop", "-s", `${f.dir}/store`, f.index, f.blob]);
  const missingDir = await runCli(["extract", "-s", `${f.dir}/store`, f.index, `${f.dir}/no/out`]);
  assertEquals(missingDir.code, 1);
  oneLine(missingDir.stderr);
  assertMatch(missingDir.stderr, /no\/out: cannot write: no such file or directory/);
  await Deno.mkdir(`${f.dir}/taken`);
  const directory = await runCli(["extract", "-s", `${f.dir}/store`, f.index, `${f.dir}/taken`]);
  assertEquals(directory.code, 1);
  assertMatch(directory.stderr, /taken: cannot write: is a directory/);
  assertEquals(leftovers(f.dir), []);
});

e2e("cat into a pipe that closes early stops quietly", async (f) => {
  await runCli(["chop", "-s", `${f.dir}/store`, f.index, f.blob]);
  const command = [
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-read",
    MAIN,
    "cat",
    "-s",
    `${f.dir}/store`,
    f.index,
  ]
    .map((word) => `'${word}'`).join(" ");
  const result = await runTool("bash", ["-c", `set -o pipefail; ${command} | head -c 100 | wc -c`]);
  assertEquals(result.stdout.trim(), "100");
  assertEquals(result.stderr, "");
  assertEquals(result.code, 0);
});

e2e(
  "Go desync's uncompressed stores (bare <id> files) are read, verified and repaired",
  async (f) => {
    const data = await Deno.readFile(f.blob);
    const store = `${f.dir}/plain-store`;
    const index = new Map<string, Uint8Array>();
    for (let start = 0, i = 0; start < data.length; start += 40_000, i++) {
      index.set(f.ids[i], data.subarray(start, Math.min(start + 40_000, data.length)));
    }
    for (const [id, plain] of index) {
      await Deno.mkdir(`${store}/${id.slice(0, 4)}`, { recursive: true });
      await Deno.writeFile(`${store}/${id.slice(0, 4)}/${id}`, plain);
    }
    const out = `${f.dir}/out`;
    const extracted = await runCli(["extract", "-s", store, f.index, out]);
    assertEquals(extracted.code, 0, extracted.stderr);
    assertEquals(await sha256sum(out), await sha256sum(f.blob));
    const catted = await runCli(["cat", "-s", store, f.index, `${f.dir}/cat`]);
    assertEquals(catted.code, 0, catted.stderr);
    assertEquals(await sha256sum(`${f.dir}/cat`), await sha256sum(f.blob));

    const clean = await runCli(["verify", "-s", store], ["--allow-read"]);
    assertEquals(clean.code, 0, clean.stderr);
    await Deno.writeFile(`${store}/${f.ids[1].slice(0, 4)}/${f.ids[1]}`, new Uint8Array([1, 2, 3]));
    const dirty = await runCli(["verify", "-r", "-s", store]);
    assertEquals(dirty.code, 1);
    assertMatch(dirty.stdout, new RegExp(`chunk ${f.ids[1]} in store .* is invalid`));
    assert(!(await exists(`${store}/${f.ids[1].slice(0, 4)}/${f.ids[1]}`)), "-r removed it");
  },
);

e2e("cache copies verified chunks from the first store and the rest from the next", async (f) => {
  await runCli(["chop", "-s", `${f.dir}/a`, f.index, f.blob]);
  await runCli(["chop", "-s", `${f.dir}/b`, f.index, f.blob]);
  await Deno.remove(`${f.dir}/a/${f.ids[4].slice(0, 4)}/${f.ids[4]}.cacnk`);
  const args = ["cache", "-s", `${f.dir}/a`, "-s", `${f.dir}/b`, "-c", `${f.dir}/cache`, f.index];
  const filled = await runCli(args);
  assertEquals(filled.code, 0, filled.stderr);
  for (const id of new Set(f.ids)) {
    assert(await exists(`${f.dir}/cache/${id.slice(0, 4)}/${id}.cacnk`), `${id} cached`);
  }
  await Deno.writeFile(`${f.dir}/a/${f.ids[0].slice(0, 4)}/${f.ids[0]}.cacnk`, new Uint8Array(5));
  await Deno.remove(`${f.dir}/cache`, { recursive: true });
  const bad = await runCli(args);
  assertEquals(bad.code, 1);
  oneLine(bad.stderr);
  assertMatch(bad.stderr, new RegExp(`chunk ${f.ids[0]} in store .*/a is invalid`));
  assert(!(await exists(`${f.dir}/cache/${f.ids[0].slice(0, 4)}/${f.ids[0]}.cacnk`)), "not cached");
});
