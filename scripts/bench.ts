/**
 * Benchmarks desync against casync on the same data in one run and prints
 * medians, throughput, peak memory and ratios (casync time / our time: above 1
 * means we are faster). Both run warm (the data is in the page cache).
 *
 *   deno task bench [--size MiB] [--rounds N] [--only extract,http,ssh,make,update]
 *
 * `update` is the update-by-difference scenario: v2 of the blob (v1 with
 * scattered edits, an insertion and a deletion) extracted over HTTP (nginx)
 * with v1 as the seed, by casync, Go desync (when ../shared/peers/desync-go
 * exists) and desync; it also reports the bytes each fetched.
 */
import { BINARY_PERMISSIONS } from "./permissions.ts";
import { xorshiftBytes } from "./pseudo_random.ts";
import { startNginx, startSshd } from "../tests/interop/peers.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] ? Deno.args[i + 1] : fallback;
}

const sizeMiB = Number(option("size", "256"));
const rounds = Number(option("rounds", "3"));
const only = option("only", "extract,make,http,ssh,update").split(",");
const GO_DESYNC = new URL("../../shared/peers/desync-go", import.meta.url).pathname;
const goDesync = (() => {
  try {
    return Deno.statSync(GO_DESYNC).isFile ? GO_DESYNC : undefined;
  } catch {
    return undefined;
  }
})();
const timeTool = ["/usr/bin/time"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

interface Sample {
  seconds: number;
  peakMiB?: number;
  /** Bytes the run fetched over the network, where the server tells. */
  fetchedBytes?: number;
}

async function measure(
  cmd: string,
  args: string[],
  dir: string,
  env?: Record<string, string>,
): Promise<Sample> {
  const memFile = `${dir}/.mem`;
  const [program, programArgs] = timeTool
    ? [timeTool, ["-f", "%M", "-o", memFile, cmd, ...args]]
    : [cmd, args];
  const started = performance.now();
  const result = await new Deno.Command(program, {
    args: programArgs,
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  if (result.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(result.stderr)}`);
  }
  const peakMiB = timeTool ? Number(Deno.readTextFileSync(memFile).trim()) / 1024 : undefined;
  return { seconds, peakMiB };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

const ours = (args: string[]) =>
  [Deno.execPath(), ["run", "--quiet", ...BINARY_PERMISSIONS, MAIN, ...args]] as const;

interface Row {
  op: string;
  tool: string;
  samples: Sample[];
}

interface Tool {
  tool: string;
  cmd: string;
  args: readonly string[];
}

const dir = await Deno.makeTempDir({ prefix: "desync-bench-" });
const rows: Row[] = [];
try {
  const blob = `${dir}/blob`;
  await Deno.writeFile(blob, xorshiftBytes(sizeMiB << 20, 0x9e3779b9));
  console.error(
    `bench: ${sizeMiB} MiB pseudo-random blob, ${rounds} rounds, ${navigator.hardwareConcurrency} cores`,
  );
  await measure("casync", ["make", `--store=${dir}/store`, `${dir}/blob.caibx`, blob], dir);

  /**
   * Runs each tool's command in turn, `rounds` times (the order rotating), after
   * `reset` each time; `fetched` tells how many bytes the run took from a server.
   */
  const compareTools = async (
    op: string,
    tools: readonly Tool[],
    reset: () => Promise<void>,
    env?: Record<string, string>,
    fetched?: () => Promise<number>,
  ) => {
    const toolRows = tools.map((tool): Row => ({ op, tool: tool.tool, samples: [] }));
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < tools.length; k++) {
        const i = (k + round) % tools.length;
        await reset();
        const sample = await measure(tools[i].cmd, [...tools[i].args], dir, env);
        if (fetched) sample.fetchedBytes = await fetched();
        toolRows[i].samples.push(sample);
      }
    }
    rows.push(...toolRows);
  };
  /** casync against desync with the same arguments' meaning. */
  const compare = (
    op: string,
    casyncArgs: string[],
    ourArgs: string[],
    reset: () => Promise<void>,
    env?: Record<string, string>,
  ) => {
    const [cmd, args] = ours(ourArgs);
    return compareTools(
      op,
      [
        { tool: "casync", cmd: "casync", args: casyncArgs },
        { tool: "desync", cmd, args },
      ],
      reset,
      env,
    );
  };
  const index = `${dir}/blob.caibx`;
  const out = `${dir}/out`;
  const removeOut = () => Deno.remove(out).catch(() => {});

  if (only.includes("extract")) {
    await compare(
      "extract (local store)",
      ["extract", `--store=${dir}/store`, index, out],
      ["extract", "-s", `${dir}/store`, index, out],
      removeOut,
    );
  }

  // Extract over the network: nginx serving the store, and casync behind sshd.
  if (only.includes("http")) {
    const nginx = await startNginx(dir);
    try {
      const url = `${nginx.url}/store/`;
      await compare(
        "extract http (nginx)",
        ["extract", `--store=${url}`, index, out],
        ["extract", "-s", url, index, out],
        removeOut,
      );
    } finally {
      await nginx.stop();
    }
  }
  if (only.includes("ssh")) {
    const sshd = await startSshd();
    try {
      await compare(
        "extract ssh (casync+sshd)",
        ["extract", `--store=127.0.0.1:${dir}/store`, index, out],
        ["extract", "-s", `ssh://127.0.0.1${dir}/store`, index, out],
        removeOut,
        { CASYNC_SSH_PATH: sshd.sshWrapper },
      );
    } finally {
      await sshd.stop();
    }
  }

  if (only.includes("update")) await benchUpdate(dir, compareTools);

  if (only.includes("make")) {
    await compare(
      "make (fresh store)",
      ["make", `--store=${dir}/fresh`, `${dir}/m.caibx`, blob],
      ["make", "-s", `${dir}/fresh`, `${dir}/m.caibx`, blob],
      () => Deno.remove(`${dir}/fresh`, { recursive: true }).catch(() => {}),
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

const medianOf = (row: Row) => median(row.samples.map((s) => s.seconds));
console.log(
  `\n${"operation".padEnd(32)}${"tool".padEnd(8)}${"median s".padStart(10)}${"MB/s".padStart(8)}${
    "peak MiB".padStart(10)
  }${"fetched MiB".padStart(13)}`,
);
for (const row of rows) {
  const seconds = medianOf(row);
  const peaks = row.samples.map((s) => s.peakMiB).filter((p): p is number => p !== undefined);
  const peak = peaks.length ? Math.max(...peaks).toFixed(0) : "n/a";
  const fetched = row.samples.map((s) => s.fetchedBytes).filter((b): b is number =>
    b !== undefined
  );
  const fetchedMiB = fetched.length ? (Math.max(...fetched) / 1048576).toFixed(1) : "";
  const mbps = ((sizeMiB * 1048576) / 1e6 / seconds).toFixed(0);
  console.log(
    `${row.op.padEnd(32)}${row.tool.padEnd(8)}${seconds.toFixed(3).padStart(10)}${
      mbps.padStart(8)
    }${peak.padStart(10)}${fetchedMiB.padStart(13)}`,
  );
}
console.log("");
for (const op of new Set(rows.map((row) => row.op))) {
  const opRows = rows.filter((row) => row.op === op);
  const ourRow = opRows.find((row) => row.tool === "desync");
  if (!ourRow) continue;
  for (const other of opRows.filter((row) => row !== ourRow)) {
    const ratio = medianOf(other) / medianOf(ourRow);
    console.log(`${op}: desync is ${ratio.toFixed(2)}x ${other.tool}'s speed`);
  }
}

/** v1 → v2 over nginx with v1 as the seed, for every tool that can. */
async function benchUpdate(dir: string, compareTools: CompareTools) {
  const v1 = `${dir}/blob`;
  const v2 = `${dir}/v2`;
  await Deno.writeFile(v2, updatedVersion(await Deno.readFile(v1)));
  await measure("casync", ["make", `--store=${dir}/store`, `${dir}/v2.caibx`, v2], dir);
  const nginx = await startNginx(dir);
  try {
    const url = `${nginx.url}/store/`;
    const out = `${dir}/updated`;
    const [cmd, args] = ours(["extract", "-s", url, "--seed", `${dir}/blob.caibx`]);
    const tools: Tool[] = [
      {
        tool: "casync",
        cmd: "casync",
        args: ["extract", `--store=${url}`, `--seed=${v1}`, `${dir}/v2.caibx`, out],
      },
      { tool: "desync", cmd, args: [...args, `${dir}/v2.caibx`, out] },
    ];
    if (goDesync) {
      tools.push({
        tool: "go",
        cmd: goDesync,
        args: ["extract", "-s", url, "--seed", `${dir}/blob.caibx`, `${dir}/v2.caibx`, out],
      });
    }
    await compareTools(
      "update v1->v2 http, v1 seed",
      tools,
      async () => {
        await Deno.remove(out).catch(() => {});
        await Deno.writeTextFile(nginx.accessLog, "");
      },
      undefined,
      async () => bytesServed(await Deno.readTextFile(nginx.accessLog)),
    );
  } finally {
    await nginx.stop();
  }
}

/** v1 with 32 scattered edits, 5000 bytes inserted and 100 000 deleted. */
function updatedVersion(v1: Uint8Array): Uint8Array {
  const v2 = new Uint8Array(v1.length + 5000 - 100_000);
  const insertAt = Math.floor(v1.length / 3);
  const deleteAt = Math.floor((2 * v1.length) / 3);
  v2.set(v1.subarray(0, insertAt));
  v2.set(xorshiftBytes(5000, 42), insertAt);
  v2.set(v1.subarray(insertAt, deleteAt), insertAt + 5000);
  v2.set(v1.subarray(deleteAt + 100_000), deleteAt + 5000);
  for (let k = 1; k <= 32; k++) {
    const at = Math.floor((v2.length * k) / 33);
    v2.set(new TextEncoder().encode(`edit ${k}`), at);
  }
  return v2;
}

/** The body bytes of the successful responses in an nginx access log (combined format). */
function bytesServed(log: string): number {
  let total = 0;
  for (const match of log.matchAll(/" 2\d\d (\d+) /g)) total += Number(match[1]);
  return total;
}

type CompareTools = (
  op: string,
  tools: readonly Tool[],
  reset: () => Promise<void>,
  env?: Record<string, string>,
  fetched?: () => Promise<number>,
) => Promise<void>;
