/** Shared test helpers: deterministic data, temp dirs, tool discovery, running the CLI. */
import { createHash } from "node:crypto";
import { assert } from "./assert.ts";
import type { ChunkId } from "../src/format/chunk_id.ts";
import { FLAG_SHA512_256, type Index } from "../src/format/index.ts";
import { concatBytes } from "../src/util/bytes.ts";
import { xorshiftBytes } from "../scripts/pseudo_random.ts";
import { CodecPool } from "../src/chunk/codec_pool.ts";
import { RUNTIME_FLAGS } from "../scripts/permissions.ts";

export const REPO = new URL("../", import.meta.url).pathname;
export const MAIN = `${REPO}src/main.ts`;

/** Deterministic pseudo-random bytes (xorshift128+ seeded by `seed`). */
export function pseudoRandom(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let s0 = BigInt(seed) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn | 1n;
  let s1 = (BigInt(seed) ^ 0xdeadbeefcafebaben) & 0xffffffffffffffffn;
  const view = new DataView(out.buffer);
  let i = 0;
  for (; i + 8 <= size; i += 8) {
    let x = s0;
    const y = s1;
    s0 = y;
    x ^= (x << 23n) & 0xffffffffffffffffn;
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    view.setBigUint64(i, (s1 + y) & 0xffffffffffffffffn, true);
  }
  for (; i < size; i++) out[i] = (i * 131 + seed) & 0xff;
  return out;
}

/** Faster deterministic bytes for large blobs (the same generator the demo and bench use). */
export const pseudoRandomFast = xorshiftBytes;

export async function tempDir(t?: { name: string }): Promise<string> {
  return await Deno.makeTempDir({ prefix: `desync-test-${t?.name.replace(/\W+/g, "_") ?? ""}` });
}

export async function removeDir(path: string) {
  await Deno.remove(path, { recursive: true }).catch(() => {});
}

/** A test given a fresh temporary directory, removed afterwards; ignored for `ignore`'s reason. */
export function tempDirTest(
  name: string,
  fn: (dir: string) => void | Promise<void>,
  ignore: string | boolean = false,
) {
  Deno.test({
    name,
    ignore: Boolean(ignore),
    async fn(t) {
      const dir = await tempDir(t);
      try {
        await fn(dir);
      } finally {
        await removeDir(dir);
      }
    },
  });
}

/** Where a tool is on PATH, or undefined. */
export function which(tool: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      const path = `${dir}/${tool}`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not here
    }
  }
  for (const dir of ["/usr/sbin", "/sbin"]) {
    try {
      if (Deno.statSync(`${dir}/${tool}`).isFile) return `${dir}/${tool}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Reason a test needing `tools` must be ignored, or false when they are all there. */
export function missingTools(...tools: string[]): string | false {
  const missing = tools.filter((tool) => !which(tool));
  return missing.length ? `needs ${missing.join(", ")}` : false;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion, capturing its output. */
export async function runTool(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: Uint8Array } = {},
): Promise<RunResult> {
  const child = new Deno.Command(cmd, {
    args,
    env: options.env,
    cwd: options.cwd,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin);
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs a tool and fails the test with its stderr when it does not exit 0. */
export async function mustRun(
  cmd: string,
  args: string[],
  options: Parameters<typeof runTool>[2] = {},
): Promise<RunResult> {
  const result = await runTool(cmd, args, options);
  assert(result.code === 0, `${cmd} ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
  return result;
}

/** The narrow permission sets the README documents, by what a command touches. */
export const PERMISSIONS = {
  local: ["--allow-read", "--allow-write"],
  readOnly: ["--allow-read"],
} as const;

/** Runs the CLI as a subprocess with exactly the given Deno permission flags. */
export async function runCli(
  args: string[],
  permissions: readonly string[] = PERMISSIONS.local,
  options: Parameters<typeof runTool>[2] = {},
): Promise<RunResult> {
  return await runTool(
    Deno.execPath(),
    ["run", "--quiet", ...permissions, ...RUNTIME_FLAGS, MAIN, ...args],
    options,
  );
}

/** sha256sum's digest of a file: an independent witness that two files are equal. */
export async function sha256sum(path: string): Promise<string> {
  const { stdout } = await mustRun("sha256sum", [path]);
  return stdout.split(" ")[0];
}

/**
 * Registers a test that gets a fresh temporary directory and codec pool, both
 * cleaned up after. Worker-backed tests skip Deno's op/resource sanitizers.
 * A pool of two or more lanes runs one of them inline, as extract's does, so
 * the jobs of a test go both ways. A reason in `ignore` (a missing tool) skips it.
 */
export function codecTest(
  name: string,
  fn: (dir: string, codec: CodecPool) => Promise<void>,
  workers = 2,
  ignore: string | false = false,
) {
  Deno.test({
    name,
    ignore: Boolean(ignore),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = await tempDir();
      const codec = new CodecPool(workers, { inline: workers >= 2 });
      try {
        await fn(dir, codec);
      } finally {
        codec.close();
        await removeDir(dir);
      }
    },
  });
}

/**
 * Registers an end-to-end test that gets a temporary directory holding `blob`
 * (1 MiB of pseudo-random bytes from `seed`), `blob.caibx` and its `store`,
 * made by the CLI; the directory is removed after.
 */
export function blobStoreTest(
  name: string,
  seed: number,
  fn: (dir: string) => Promise<void>,
) {
  Deno.test(name, async (t) => {
    const dir = await tempDir(t);
    try {
      await Deno.writeFile(`${dir}/blob`, pseudoRandom(1 << 20, seed));
      const made = await runCli(["make", "-s", `${dir}/store`, `${dir}/blob.caibx`, `${dir}/blob`]);
      assert(made.code === 0, made.stderr);
      await fn(dir);
    } finally {
      await removeDir(dir);
    }
  });
}

/** Every file under `dir`, as paths relative to it, sorted. */
export function filesUnder(dir: string, prefix = ""): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const name = `${prefix}${entry.name}`;
    if (entry.isDirectory) found.push(...filesUnder(`${dir}/${entry.name}`, `${name}/`));
    else found.push(name);
  }
  return found.sort();
}

/**
 * The bytes of `blob` with its first two chunks swapped: as a seed, its index
 * (the blob's) is wrong from offset 0 on, while chunking it anew finds every chunk.
 */
export function swapFirstTwoChunks(
  blob: Uint8Array,
  [first, second]: readonly { start: number; size: number }[],
): Uint8Array {
  const swapped = new Uint8Array(blob.length);
  swapped.set(blob.subarray(second.start, second.start + second.size), 0);
  swapped.set(blob.subarray(first.start, first.start + first.size), second.size);
  swapped.set(blob.subarray(second.start + second.size), first.size + second.size);
  return swapped;
}

/**
 * A blob made of `pieces` and a SHA-512/256 index with a chunk for each, their
 * IDs hashed by node:crypto (not by the code under test).
 */
export function indexOfPieces(
  pieces: readonly Uint8Array[],
  chunkSizeMax: number,
): { data: Uint8Array; index: Index } {
  let start = 0;
  const chunks = pieces.map((piece) => {
    const id = createHash("sha512-256").update(piece).digest("hex") as ChunkId;
    const chunk = { id, start, size: piece.length };
    start += piece.length;
    return chunk;
  });
  const index = {
    featureFlags: FLAG_SHA512_256,
    chunkSizeMin: 64,
    chunkSizeAvg: 4096,
    chunkSizeMax,
    chunks,
  };
  return { data: concatBytes(pieces), index };
}
