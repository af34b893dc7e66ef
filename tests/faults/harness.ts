/**
 * The fault matrix's common ground: a small blob with its index and store,
 * running the CLI with a hard deadline (a hang fails the test instead of the
 * suite) while sampling its peak memory, and the checks every case makes.
 */
import { createHash } from "node:crypto";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { compressChunk } from "../../src/chunk/codec.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { encodeIndex, FLAG_SHA512_256, type IndexChunk } from "../../src/format/index.ts";
import { MAIN, pseudoRandom, REPO } from "../helpers.ts";
import { processesMatching } from "../interop/peers.ts";
import { PROXY_ENV } from "../../src/util/http1.ts";

export const CHUNK = 64 << 10;

export interface Fixture {
  dir: string;
  blob: string;
  data: Uint8Array;
  index: string;
  /** A local store with every chunk (zstd frames). */
  store: string;
  ids: ChunkId[];
}

/** A 2 MiB blob cut every 64 KiB (chunk 7 repeats chunk 3), its index and a store. */
export async function makeFixture(dir: string): Promise<Fixture> {
  const data = pseudoRandom(2 << 20, 91);
  data.copyWithin(7 * CHUNK, 3 * CHUNK, 4 * CHUNK);
  const chunks = [];
  const store = `${dir}/store`;
  for (let start = 0; start < data.length; start += CHUNK) {
    const plain = data.subarray(start, start + CHUNK);
    const id = createHash("sha512-256").update(plain).digest("hex") as ChunkId;
    await Deno.mkdir(`${store}/${id.slice(0, 4)}`, { recursive: true });
    await Deno.writeFile(`${store}/${id.slice(0, 4)}/${id}.cacnk`, compressChunk(plain));
    chunks.push({ id, start, size: plain.length });
  }
  const index = `${dir}/blob.caibx`;
  await writeFixtureIndex(index, chunks);
  await Deno.writeFile(`${dir}/blob`, data);
  return { dir, blob: `${dir}/blob`, data, index, store, ids: chunks.map((c) => c.id) };
}

/** Writes a SHA-512/256 index of `chunks` cut about every CHUNK bytes (min CHUNK / 4, max 4 CHUNK). */
export async function writeFixtureIndex(path: string, chunks: IndexChunk[]): Promise<void> {
  await Deno.writeFile(
    path,
    encodeIndex({
      featureFlags: FLAG_SHA512_256,
      chunkSizeMin: CHUNK / 4,
      chunkSizeAvg: CHUNK,
      chunkSizeMax: CHUNK * 4,
      chunks,
    }),
  );
}

export function chunkFile(store: string, id: ChunkId): string {
  return `${store}/${id.slice(0, 4)}/${id}.cacnk`;
}

export interface Run {
  code: number;
  /** The signal that ended the process, if one did. */
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
  /** Largest resident set seen (VmHWM), in MiB; 0 where /proc does not tell. */
  peakMiB: number;
  ms: number;
}

export interface Running {
  pid: number;
  signal(signal: Deno.Signal): void;
  done: Promise<Run>;
}

/** Starts the CLI with exactly `permissions`; fails (and kills it) after `deadlineMs`. */
export function startCli(
  args: string[],
  permissions: readonly string[],
  options: { env?: Record<string, string>; deadlineMs?: number } = {},
): Running {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...permissions, MAIN, ...args],
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peakKiB = 0;
  const sample = () => {
    try {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      // exited, or no /proc here
    }
  };
  const sampler = setInterval(sample, 20);
  let hung = false;
  const deadline = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, options.deadlineMs ?? 30_000);
  const done = child.output().then((out) => {
    clearInterval(sampler);
    clearTimeout(deadline);
    const decoder = new TextDecoder();
    const stderr = decoder.decode(out.stderr);
    if (hung) throw new Error(`desync ${args.join(" ")} hung (killed); stderr: ${stderr}`);
    return {
      code: out.code,
      signal: out.signal,
      stdout: decoder.decode(out.stdout),
      stderr,
      peakMiB: peakKiB / 1024,
      ms: performance.now() - started,
    };
  });
  return { pid: child.pid, signal: (signal) => child.kill(signal), done };
}

export function runCli(
  args: string[],
  permissions: readonly string[],
  options: { env?: Record<string, string>; deadlineMs?: number } = {},
): Promise<Run> {
  return startCli(args, permissions, options).done;
}

/** `text` as a regular expression that matches it literally (store URLs, paths). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The one-line failure every fault must end in: `desync: …` naming the object, exit ≠ 0. */
export function assertFailure(run: Run, pattern: RegExp, code = 1) {
  assertEquals(run.code, code, `exit code; stderr: ${run.stderr}`);
  const lines = run.stderr.trim().split("\n");
  assertEquals(lines.length, 1, `one line on stderr, got: ${run.stderr}`);
  assertMatch(lines[0], /^desync: /);
  assertMatch(lines[0], pattern);
}

/** Temporary files (`*.tmp`) anywhere under `dir`. */
export function tempFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    for (const entry of Deno.readDirSync(path)) {
      if (entry.isDirectory) walk(`${path}/${entry.name}`);
      else if (entry.name.endsWith(".tmp")) found.push(`${path}/${entry.name}`);
    }
  };
  walk(dir);
  return found;
}

export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Nothing under the final name, and no temporary file beside it. */
export function assertNoOutput(path: string) {
  assert(!exists(path), `nothing under the final name ${path}`);
  assertEquals(tempFiles(path.slice(0, path.lastIndexOf("/"))), [], "no temporary files");
}

/** The output is the fixture's blob, byte for byte. */
export async function assertBlob(path: string, fixture: Fixture) {
  const got = await Deno.readFile(path);
  assertEquals(got.length, fixture.data.length, "output size");
  assert(got.every((byte, i) => byte === fixture.data[i]), "output bytes equal the blob");
}

/** Waits (up to 3 s) for processes mentioning `needle` to end; returns those left. */
export async function leftoverProcesses(needle: string): Promise<number[]> {
  for (let i = 0; i < 60 && processesMatching(needle).length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return processesMatching(needle);
}

/**
 * An ssh stand-in for CASYNC_SSH_PATH running the fake remote in `mode`;
 * `pipe` is put after it (e.g. "| head -c 300000"), `prelude` before it.
 */
export async function fakeSsh(
  dir: string,
  mode: string,
  options: { pipe?: string; prelude?: string; delayMs?: number } = {},
): Promise<string> {
  const path = `${dir}/fake-ssh-${mode}`;
  const env = `export FAKE_REMOTE=${mode} FAKE_DELAY_MS=${options.delayMs ?? 0}`;
  const run = `'${Deno.execPath()}' run --quiet --allow-env --allow-read ` +
    `'${REPO}tests/fixtures/fake_casync_remote.ts' "$@"`;
  const body = options.pipe ? `${run} ${options.pipe}` : `exec ${run}`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${env}\n${options.prelude ?? ""}\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

export const FLAGS = {
  local: ["--allow-read", "--allow-write"],
  http: ["--allow-read", "--allow-write", "--allow-net=127.0.0.1"],
  /** With the proxy variables readable, plain-http GETs go through our HTTP/1.1 client. */
  http1: [
    "--allow-read",
    "--allow-write",
    "--allow-net=127.0.0.1",
    `--allow-env=${PROXY_ENV.join(",")}`,
  ],
  ssh: [
    "--allow-read",
    "--allow-write",
    "--allow-run",
    "--allow-env=CASYNC_SSH_PATH,CASYNC_REMOTE_PATH",
  ],
} as const;
