/**
 * A drop-in for Go desync: the same command lines, run under Go desync itself
 * (../shared/peers/desync-go) and under ours, each in its own copy of the same
 * fixture directory, must agree on success or failure, on what they print
 * (JSON compared parsed) and on the files they write. Where we differ on
 * purpose, the case names the difference; DIFFERENCES says why.
 */
import { assert, assertEquals } from "../assert.ts";
import { MAIN, pseudoRandomFast, removeDir, tempDir } from "../helpers.ts";
import { GO_DESYNC, GO_MISSING } from "./peers.ts";

/** Every way we differ from Go desync on purpose, with the reason. */
export const DIFFERENCES = {
  usageExit:
    "a usage error (bad flag, bad value, missing store) exits 2 here, other failures 1; Go " +
    "desync exits 1 for both",
  indexFlags: "make writes casync's feature flags (0xb000000000000000): casync is the oracle for " +
    "what we write. Go desync writes 0xa000000000000000; every byte after the flags is the same",
  chunksProduced: "make --print-stats: ChunksProduced counts the work of Go desync's own " +
    "parallel chunkers, which depends on how it splits the file; ours equals ChunksAccepted",
  infoPlainExtra: "info -f plain prints Go desync's lines, then Digest: and Feature flags: lines",
  verifyExit: "verify prints each invalid chunk on stdout and exits 1; Go desync only logs them " +
    "and exits 0, so a script could not tell",
  extractStats: "extract --print-stats has Go desync's keys, then our finer split by source; " +
    "Go counts self-seeded, zero and in-place chunks its own way (an all-zero chunk already in " +
    "place is in-place here, from its zero seed there), so only chunks-total, bytes-total, " +
    "chunks-from-store and blocksize are compared",
  createsDirs: "a cache (-c) or target store directory that does not exist is created; Go " +
    "desync fails on it",
  verbose: "--verbose logs other lines on stderr than Go desync's debug log",
} as const;

type Difference = keyof typeof DIFFERENCES;

interface Run {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

interface Case {
  /** Go desync's command line, run in the case's directory. */
  args: string[];
  /** A file of the directory to feed on stdin. */
  stdin?: string;
  /** How stdout is compared (default: byte for byte). */
  stdout?: "bytes" | "json" | "ignore";
  /** Files written, compared byte for byte. */
  files?: string[];
  /** Files holding JSON, compared parsed. */
  jsonFiles?: string[];
  /** Index files written by make: compared with the feature flags left out. */
  indexes?: string[];
  /** Store directories: compared by the chunks they hold. */
  stores?: string[];
  /** Runs in each directory before the command. */
  prepare?: (dir: string) => Promise<void>;
  /** Expected outcome for both (default: success). */
  fails?: boolean;
  /** Exit codes differ on purpose: `check` compares them. */
  exitDiffers?: boolean;
  /** Where we differ on purpose; `check` then compares what is comparable. */
  differs?: Difference[];
  check?: (go: Run, ours: Run) => void;
}

const BLOB_SIZE = 3 << 20;
const ZEROS = { at: 1 << 20, size: 700 << 10 };

/** Builds the fixture with Go desync: blob, v2, their indexes and store, and side files. */
async function makeFixture(dir: string) {
  const blob = pseudoRandomFast(BLOB_SIZE, 12);
  blob.fill(0, ZEROS.at, ZEROS.at + ZEROS.size);
  await Deno.writeFile(`${dir}/blob`, blob);
  const v2 = new Uint8Array(BLOB_SIZE + (200 << 10));
  v2.set(blob);
  v2.set(pseudoRandomFast(100 << 10, 13), 2 << 20);
  v2.set(pseudoRandomFast(200 << 10, 14), BLOB_SIZE);
  await Deno.writeFile(`${dir}/v2`, v2);
  await Deno.mkdir(`${dir}/store`);
  await go(dir, ["make", "-s", "store", "blob.caibx", "blob"]);
  await go(dir, ["make", "-s", "store", "v2.caibx", "v2"]);
  await go(dir, ["inspect-chunks", "-s", "store", "v2.caibx", "chunks.json"]);
  const ids = new TextDecoder().decode((await go(dir, ["list-chunks", "blob.caibx"])).stdout)
    .trim().split("\n");
  await Deno.writeTextFile(`${dir}/chunks.txt`, `${ids.slice(0, 5).join("\n")}\n\n`);
  // A store and a cache with one corrupted chunk file each.
  for (const copy of ["badstore", "badcache"]) {
    await copyDir(`${dir}/store`, `${dir}/${copy}`);
    const path = `${dir}/${copy}/${ids[0].slice(0, 4)}/${ids[0]}.cacnk`;
    const bytes = await Deno.readFile(path);
    bytes[bytes.length - 5] ^= 0xff;
    await Deno.writeFile(path, bytes);
  }
  // A cache holding part of v2; a seed directory; an empty store.
  const v2Ids = new TextDecoder().decode((await go(dir, ["list-chunks", "v2.caibx"])).stdout)
    .trim().split("\n");
  for (const id of v2Ids.slice(0, 10)) {
    await Deno.mkdir(`${dir}/partcache/${id.slice(0, 4)}`, { recursive: true });
    await Deno.copyFile(
      `${dir}/store/${id.slice(0, 4)}/${id}.cacnk`,
      `${dir}/partcache/${id.slice(0, 4)}/${id}.cacnk`,
    );
  }
  await Deno.mkdir(`${dir}/seeds`);
  await Deno.copyFile(`${dir}/blob`, `${dir}/seeds/blob`);
  await Deno.copyFile(`${dir}/blob.caibx`, `${dir}/seeds/blob.caibx`);
  await Deno.mkdir(`${dir}/empty`);
  return { ids, v2Ids };
}

const mkdir = (name: string) => (dir: string) => Deno.mkdir(`${dir}/${name}`, { recursive: true });

/** Stats keys comparable between the two extracts (see DIFFERENCES.extractStats). */
function sameExtractStats(go: Run, ours: Run) {
  const [a, b] = [json(go.stdout), json(ours.stdout)];
  for (const key of Object.keys(a)) assert(key in b, `--print-stats lacks Go's key ${key}`);
  for (const key of ["chunks-total", "bytes-total", "chunks-from-store"]) {
    assertEquals(b[key], a[key], key);
  }
  assertEquals(b.blocksize, a.blocksize, "blocksize");
}

const CASES: Case[] = [
  // list-chunks, with Go's store options accepted and ignored
  { args: ["list-chunks", "blob.caibx"] },
  { args: ["list-chunks", "-n", "4", "-r", "-e", "5", "-b", "2s", "blob.caibx"] },
  { args: ["list-chunks", "-"], stdin: "blob.caibx" },
  { args: ["list-chunks", "missing.caibx"], fails: true },
  // chunk: KiB sizes, -S, the global --digest before and after the command
  { args: ["chunk", "blob"] },
  { args: ["chunk", "-m", "16:32:64", "blob"] },
  { args: ["chunk", "--chunk-size", "4:16:64", "-S", "1000", "blob"] },
  { args: ["--digest", "sha256", "chunk", "blob"] },
  { args: ["chunk", "--digest", "sha256", "blob"] },
  { args: ["chunk", "-m", "0:4:8", "blob"], fails: true, differs: ["usageExit"] },
  { args: ["chunk", "-m", "64:16:256", "blob"], fails: true, differs: ["usageExit"] },
  { args: ["chunk", "-m", "16:64:32", "blob"], fails: true, differs: ["usageExit"] },
  { args: ["chunk", "-m", "16:64", "blob"], fails: true, differs: ["usageExit"] },
  // make
  { args: ["make", "out.caibx", "blob"], indexes: ["out.caibx"], differs: ["indexFlags"] },
  {
    args: ["make", "-m", "32:128:512", "-s", "new", "out.caibx", "blob"],
    prepare: mkdir("new"),
    indexes: ["out.caibx"],
    stores: ["new"],
    differs: ["indexFlags"],
  },
  {
    args: ["make", "--digest", "sha256", "-s", "new", "out.caibx", "v2"],
    prepare: mkdir("new"),
    indexes: ["out.caibx"],
    stores: ["new"],
    differs: ["indexFlags"],
  },
  {
    args: ["make", "-", "blob"],
    stdout: "ignore",
    differs: ["indexFlags"],
    check: (go, ours) => assertEquals(withoutFlags(ours.stdout), withoutFlags(go.stdout)),
  },
  {
    args: ["make", "--print-stats", "out.caibx", "blob"],
    indexes: ["out.caibx"],
    differs: ["indexFlags", "chunksProduced"],
    check: (go, ours) => {
      const [a, b] = [JSON.parse(go.stderr), JSON.parse(ours.stderr)];
      assertEquals(Object.keys(b).slice(0, 2), Object.keys(a));
      assertEquals(b.ChunksAccepted, a.ChunksAccepted);
    },
  },
  { args: ["make", "-m", "64:16:256", "out.caibx", "blob"], fails: true, differs: ["usageExit"] },
  // info: Go's JSON by default, -f plain, stores, seeds, cache, chunks info
  { args: ["info", "blob.caibx"], stdout: "json" },
  { args: ["info", "--format=json", "-s", "store", "v2.caibx"], stdout: "json" },
  { args: ["info", "-s", "empty,store", "v2.caibx"], stdout: "json" },
  { args: ["info", "--seed", "blob.caibx", "v2.caibx"], stdout: "json" },
  { args: ["info", "--seed", "blob.caibx", "-c", "partcache", "v2.caibx"], stdout: "json" },
  {
    args: [
      "info",
      "--seed",
      "blob.caibx",
      "-c",
      "partcache",
      "--chunks-info",
      "chunks.json",
      "v2.caibx",
    ],
    stdout: "json",
  },
  { args: ["info", "--chunks-info", "chunks.json", "v2.caibx"], stdout: "json" },
  {
    args: ["info", "-f", "plain", "-s", "store", "--seed", "blob.caibx", "v2.caibx"],
    stdout: "ignore",
    differs: ["infoPlainExtra"],
    check: (go, ours) => {
      const goLines = text(go.stdout).trimEnd().split("\n");
      assertEquals(text(ours.stdout).split("\n").slice(0, goLines.length), goLines);
    },
  },
  { args: ["info", "-f", "yaml", "blob.caibx"], fails: true, differs: ["usageExit"] },
  // inspect-chunks
  { args: ["inspect-chunks", "blob.caibx"], stdout: "json" },
  { args: ["inspect-chunks", "-s", "store", "v2.caibx"], stdout: "json" },
  { args: ["inspect-chunks", "-s", "partcache", "v2.caibx", "out.json"], jsonFiles: ["out.json"] },
  // extract
  { args: ["extract", "-s", "store", "blob.caibx", "out"], files: ["out"] },
  { args: ["extract", "-s", "empty,store", "-n", "3", "v2.caibx", "out"], files: ["out"] },
  {
    args: ["extract", "-s", "store", "--print-stats", "blob.caibx", "out"],
    files: ["out"],
    stdout: "ignore",
    differs: ["extractStats"],
    check: sameExtractStats,
  },
  {
    args: ["extract", "-s", "store", "-c", "cache", "v2.caibx", "out"],
    prepare: mkdir("cache"),
    files: ["out"],
    stores: ["cache"],
  },
  {
    args: ["extract", "-s", "store", "-c", "cache", "v2.caibx", "out"],
    files: [],
    exitDiffers: true,
    differs: ["createsDirs"],
    check: (go, ours) => assertEquals([go.code, ours.code], [1, 0]),
  },
  {
    args: ["extract", "-s", "store", "--seed", "blob.caibx", "--print-stats", "v2.caibx", "out"],
    files: ["out"],
    stdout: "ignore",
    differs: ["extractStats"],
    check: sameExtractStats,
  },
  {
    args: ["extract", "-s", "store", "--seed", "seeds/blob.caibx:blob", "v2.caibx", "out"],
    files: ["out"],
  },
  { args: ["extract", "-s", "store", "--seed-dir", "seeds", "v2.caibx", "out"], files: ["out"] },
  {
    args: ["extract", "-k", "-s", "store", "--print-stats", "v2.caibx", "out"],
    prepare: (dir) => Deno.copyFile(`${dir}/blob`, `${dir}/out`),
    files: ["out"],
    stdout: "ignore",
    differs: ["extractStats"],
    check: sameExtractStats,
  },
  {
    // An invalid chunk in the cache is fetched again and replaced (Go's -r default).
    args: ["extract", "-s", "store", "-c", "badcache", "blob.caibx", "out"],
    files: ["out"],
    stores: ["badcache"],
  },
  {
    args: ["extract", "--cache-repair=false", "-s", "store", "-c", "badcache", "blob.caibx", "out"],
    fails: true,
  },
  {
    args: ["extract", "-s", "store", "blob.caibx", "blob.caibx"],
    fails: true,
    differs: ["usageExit"],
  },
  { args: ["extract", "blob.caibx", "out"], fails: true, differs: ["usageExit"] },
  {
    args: [
      "extract",
      "-s",
      "store",
      "--skip-invalid-seeds",
      "--regenerate-invalid-seeds",
      "v2.caibx",
      "out",
    ],
    fails: true,
    differs: ["usageExit"],
  },
  { args: ["extract", "-s", "badstore", "blob.caibx", "out"], fails: true },
  // cat
  { args: ["cat", "-s", "store", "v2.caibx"] },
  { args: ["cat", "-s", "store", "-o", "1000", "-l", "5000", "blob.caibx"] },
  { args: ["cat", "-s", "store", "--offset", "3000000", "--length", "0", "v2.caibx"] },
  {
    args: ["cat", "-s", "store", "-c", "cache", "blob.caibx", "out"],
    prepare: mkdir("cache"),
    files: ["out"],
    stores: ["cache"],
  },
  { args: ["cat", "blob.caibx"], fails: true, differs: ["usageExit"] },
  // a range past the blob's end (3 MiB) fails under both
  {
    args: ["cat", "-s", "store", "-o", "3145000", "-l", "1000", "blob.caibx"],
    fails: true,
    differs: ["usageExit"],
  },
  {
    args: ["cat", "-s", "store", "-o", "3145729", "blob.caibx"],
    fails: true,
    differs: ["usageExit"],
  },
  { args: ["cat", "-s", "store", "-o", "3145000", "-l", "728", "blob.caibx"] },
  // cache
  {
    args: ["cache", "-s", "store", "-c", "new", "blob.caibx", "v2.caibx"],
    prepare: mkdir("new"),
    stores: ["new"],
  },
  {
    args: ["cache", "-s", "store", "-c", "new", "--ignore", "blob.caibx", "v2.caibx"],
    prepare: mkdir("new"),
    stores: ["new"],
  },
  {
    args: ["cache", "-s", "store", "-c", "new", "--ignore-chunks", "chunks.txt", "blob.caibx"],
    prepare: mkdir("new"),
    stores: ["new"],
  },
  // chop
  { args: ["chop", "-s", "new", "blob.caibx", "blob"], prepare: mkdir("new"), stores: ["new"] },
  {
    args: ["chop", "-n", "2", "-s", "new", "--ignore", "blob.caibx", "v2.caibx", "v2"],
    prepare: mkdir("new"),
    stores: ["new"],
  },
  {
    args: ["chop", "-s", "new", "--ignore-chunks", "chunks.txt", "blob.caibx", "blob"],
    prepare: mkdir("new"),
    stores: ["new"],
  },
  { args: ["chop", "-s", "new", "blob.caibx", "v2"], prepare: mkdir("new"), fails: true },
  // verify, verify-index
  { args: ["verify", "-s", "store"] },
  {
    args: ["verify", "-s", "badstore"],
    stdout: "ignore",
    exitDiffers: true,
    differs: ["verifyExit"],
    check: (go, ours) => {
      assertEquals(go.code, 0);
      assertEquals(ours.code, 1);
      assertEquals(text(ours.stdout).trim().split("\n").length, 1);
    },
  },
  {
    args: ["verify", "-r", "-s", "badstore"],
    stdout: "ignore",
    exitDiffers: true,
    stores: ["badstore"],
    differs: ["verifyExit"],
    check: (go, ours) => assertEquals([go.code, ours.code], [0, 1]),
  },
  { args: ["verify-index", "blob.caibx", "blob"] },
  { args: ["verify-index", "-n", "3", "blob.caibx", "v2"], fails: true },
  // prune
  {
    args: ["prune", "-s", "store", "--yes", "blob.caibx"],
    stores: ["store"],
  },
  { args: ["prune", "-n", "4", "-s", "store", "-y", "blob.caibx", "v2.caibx"], stores: ["store"] },
  // root options
  {
    args: ["--verbose", "list-chunks", "blob.caibx"],
    differs: ["verbose"],
    check: (go, ours) => assertEquals(ours.stdout, go.stdout),
  },
];

Deno.test({
  name: "go cli: every documented difference is used by a case",
  fn() {
    const used = new Set(CASES.flatMap((c) => c.differs ?? []));
    assertEquals([...used].sort(), Object.keys(DIFFERENCES).sort());
  },
});

Deno.test({
  name: "go cli: Go desync's command lines give the same results under Go desync and desync",
  ignore: Boolean(GO_MISSING),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const base = await tempDir(t);
    try {
      await Deno.mkdir(`${base}/fixture`);
      await makeFixture(`${base}/fixture`);
      for (const [i, c] of CASES.entries()) {
        const label = `${c.args.join(" ")}`;
        await t.step(label, async () => {
          const dirs = [`${base}/go-${i}`, `${base}/ours-${i}`];
          for (const dir of dirs) {
            await copyDir(`${base}/fixture`, dir);
            await c.prepare?.(dir);
          }
          const [goRun, ours] = await Promise.all([
            run(GO_DESYNC, c.args, dirs[0], c.stdin),
            run(
              Deno.execPath(),
              ["run", "--quiet", "--allow-read", "--allow-write", MAIN, ...c.args],
              dirs[1],
              c.stdin,
            ),
          ]);
          const why =
            `${label}\n go: ${goRun.code} ${goRun.stderr}\n ours: ${ours.code} ${ours.stderr}`;
          if (!c.exitDiffers) {
            assertEquals(ours.code !== 0, goRun.code !== 0, `success differs: ${why}`);
            assertEquals(ours.code !== 0, c.fails === true, `unexpected outcome: ${why}`);
            if (c.differs?.includes("usageExit")) {
              assertEquals([goRun.code, ours.code], [1, 2], why);
            } else {
              assertEquals(ours.code, goRun.code, `exit codes differ: ${why}`);
            }
          }
          if (!c.fails && !c.exitDiffers) {
            const stdout = c.stdout ?? "bytes";
            if (stdout === "bytes") assertEquals(ours.stdout, goRun.stdout, `stdout: ${label}`);
            if (stdout === "json") assertEquals(json(ours.stdout), json(goRun.stdout), label);
          }
          for (const file of c.files ?? []) {
            assertEquals(await read(dirs[1], file), await read(dirs[0], file), `${file}: ${label}`);
          }
          for (const file of c.jsonFiles ?? []) {
            assertEquals(json(await read(dirs[1], file)), json(await read(dirs[0], file)), file);
          }
          for (const file of c.indexes ?? []) {
            const [a, b] = [await read(dirs[0], file), await read(dirs[1], file)];
            assertEquals(withoutFlags(b), withoutFlags(a), `${file}: ${label}`);
          }
          for (const store of c.stores ?? []) {
            assertEquals(
              chunkFiles(`${dirs[1]}/${store}`),
              chunkFiles(`${dirs[0]}/${store}`),
              store,
            );
          }
          if (c.stores?.length && !c.fails) {
            // Go desync must accept the chunks we wrote.
            const digest = c.args.includes("sha256") ? ["--digest", "sha256"] : [];
            for (const store of c.stores) {
              const check = await run(GO_DESYNC, [...digest, "verify", "-s", store], dirs[1]);
              assertEquals([check.code, check.stderr], [0, ""], `Go verify of our ${store}`);
            }
          }
          c.check?.(goRun, ours);
          for (const dir of dirs) await removeDir(dir);
        });
      }
    } finally {
      await removeDir(base);
    }
  },
});

async function run(cmd: string, args: string[], cwd: string, stdin?: string): Promise<Run> {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(await Deno.readFile(`${cwd}/${stdin}`));
    await writer.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

async function go(cwd: string, args: string[]): Promise<Run> {
  const result = await run(GO_DESYNC, args, cwd);
  assertEquals(result.code, 0, `desync-go ${args.join(" ")}: ${result.stderr}`);
  return result;
}

function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

// deno-lint-ignore no-explicit-any
function json(bytes: Uint8Array): any {
  return JSON.parse(text(bytes));
}

async function read(dir: string, file: string): Promise<Uint8Array> {
  return await Deno.readFile(`${dir}/${file}`);
}

/** An index without its feature flags (bytes 16..24): see DIFFERENCES.indexFlags. */
function withoutFlags(index: Uint8Array): Uint8Array {
  const copy = index.slice();
  copy.fill(0, 16, 24);
  return copy;
}

/** The chunk files of a store directory, by relative path. */
function chunkFiles(dir: string): string[] {
  const names: string[] = [];
  for (const prefix of Deno.readDirSync(dir)) {
    if (!prefix.isDirectory) continue;
    for (const entry of Deno.readDirSync(`${dir}/${prefix.name}`)) {
      if (!entry.name.startsWith(".")) names.push(`${prefix.name}/${entry.name}`);
    }
  }
  return names.sort();
}

async function copyDir(from: string, to: string) {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyDir(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}
