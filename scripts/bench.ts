/**
 * Benchmarks desync against casync on the same data in one run and prints
 * medians, throughput, peak memory and ratios (casync time / our time: above 1
 * means we are faster). Both run warm (the data is in the page cache).
 *
 *   deno task bench [--size MiB] [--rounds N] [--only extract,make,http,ssh,tar]
 *
 * `tar` archives a tree of 20 000 small files and a few large ones (tar -i into
 * a fresh store, untar -i into a fresh directory) with casync, Go desync (when
 * ../shared/peers/desync-go is there) and us.
 */
import { BINARY_PERMISSIONS } from "./permissions.ts";
import { xorshiftBytes } from "./pseudo_random.ts";
import { startNginx, startSshd } from "../tests/interop/peers.ts";
import { CASYNC_EQUIVALENT_OPTIONS } from "../src/ops/tar.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] ? Deno.args[i + 1] : fallback;
}

const sizeMiB = Number(option("size", "256"));
const rounds = Number(option("rounds", "3"));
const only = option("only", "extract,make,http,ssh,tar").split(",");
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
  /** Bytes processed, for the throughput column. */
  bytes: number;
}

/** One contender: a tool's name and its command line. */
interface Contender {
  tool: string;
  cmd: string;
  args: readonly string[];
}

const dir = await Deno.makeTempDir({ prefix: "desync-bench-" });
const rows: Row[] = [];

/** Runs each contender's command in turn, `rounds` times, after `reset` each time. */
async function race(
  op: string,
  contenders: Contender[],
  reset: () => Promise<void>,
  env?: Record<string, string>,
  bytes = sizeMiB * 1048576,
) {
  const opRows = contenders.map((c): Row => ({ op, tool: c.tool, samples: [], bytes }));
  for (let round = 0; round < rounds; round++) {
    // Alternate the order so neither tool always runs on a warmer cache.
    const order = round % 2 ? [...contenders.keys()].reverse() : [...contenders.keys()];
    for (const i of order) {
      await reset();
      opRows[i].samples.push(await measure(contenders[i].cmd, [...contenders[i].args], dir, env));
    }
  }
  rows.push(...opRows);
}
try {
  const blob = `${dir}/blob`;
  if (["extract", "make", "http", "ssh"].some((op) => only.includes(op))) {
    await Deno.writeFile(blob, xorshiftBytes(sizeMiB << 20, 0x9e3779b9));
    console.error(
      `bench: ${sizeMiB} MiB pseudo-random blob, ${rounds} rounds, ${navigator.hardwareConcurrency} cores`,
    );
    await measure("casync", ["make", `--store=${dir}/store`, `${dir}/blob.caibx`, blob], dir);
  }

  /** casync's command against ours. */
  const compare = (
    op: string,
    casyncArgs: string[],
    ourArgs: string[],
    reset: () => Promise<void>,
    env?: Record<string, string>,
  ) => {
    const [cmd, args] = ours(ourArgs);
    return race(
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

  if (only.includes("make")) {
    await compare(
      "make (fresh store)",
      ["make", `--store=${dir}/fresh`, `${dir}/m.caibx`, blob],
      ["make", "-s", `${dir}/fresh`, `${dir}/m.caibx`, blob],
      () => Deno.remove(`${dir}/fresh`, { recursive: true }).catch(() => {}),
    );
  }
  if (only.includes("tar")) await benchTrees();
} finally {
  await Deno.remove(dir, { recursive: true });
}

/**
 * tar -i and untar -i of a tree of 20 000 small files (0-8 KiB, in 200
 * directories) and four 32 MiB files, against casync (with the feature set we
 * record) and Go desync. Each unpacks casync's index from casync's store.
 */
async function benchTrees() {
  const tree = `${dir}/tree`;
  let bytes = 0;
  for (let d = 0; d < 200; d++) {
    await Deno.mkdir(`${tree}/dir-${d}`, { recursive: true });
    for (let f = 0; f < 100; f++) {
      const size = (d * 7919 + f * 104729) % 8192;
      await Deno.writeFile(`${tree}/dir-${d}/file-${f}`, xorshiftBytes(size, d * 100 + f + 1));
      bytes += size;
    }
  }
  for (let f = 0; f < 4; f++) {
    await Deno.writeFile(`${tree}/large-${f}`, xorshiftBytes(32 << 20, 0x51ed + f));
    bytes += 32 << 20;
  }
  console.error(
    `bench: tree of 20000 small files and 4 x 32 MiB (${(bytes / 1048576).toFixed(0)} MiB)`,
  );
  const goDesync = ["../../shared/peers/desync-go", "../../../shared/peers/desync-go"]
    .map((path) => new URL(path, import.meta.url).pathname)
    .find((path) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    });
  const fresh = (...paths: string[]) => async () => {
    for (const path of paths) await Deno.remove(path, { recursive: true }).catch(() => {});
    if (goDesync) await Deno.mkdir(`${dir}/go-store`).catch(() => {}); // Go desync wants it
  };
  const casyncFeatures = CASYNC_EQUIVALENT_OPTIONS;
  const [cmd, ourTar] = ours(["tar", "-i", "-s", `${dir}/t-store`, `${dir}/t.caidx`, tree]);
  const tarContenders: Contender[] = [
    {
      tool: "casync",
      cmd: "casync",
      args: ["make", ...casyncFeatures, `--store=${dir}/c-store`, `${dir}/c.caidx`, tree],
    },
    { tool: "desync", cmd, args: ourTar },
  ];
  if (goDesync) {
    tarContenders.push({
      tool: "desync-go",
      cmd: goDesync,
      args: ["tar", "-i", "-s", `${dir}/go-store`, `${dir}/go.caidx`, tree],
    });
  }
  await race(
    "tar -i (fresh store)",
    tarContenders,
    fresh(`${dir}/c-store`, `${dir}/t-store`, `${dir}/go-store`),
    undefined,
    bytes,
  );
  // Every tool unpacks casync's index from casync's store.
  await measure("casync", [
    "make",
    ...casyncFeatures,
    `--store=${dir}/c-store`,
    `${dir}/c.caidx`,
    tree,
  ], dir);
  const out = `${dir}/untarred`;
  const [ourCmd, ourUntar] = ours(["untar", "-i", "-s", `${dir}/c-store`, `${dir}/c.caidx`, out]);
  const untarContenders: Contender[] = [
    {
      tool: "casync",
      cmd: "casync",
      args: ["extract", `--store=${dir}/c-store`, `${dir}/c.caidx`, out],
    },
    { tool: "desync", cmd: ourCmd, args: ourUntar },
  ];
  if (goDesync) {
    untarContenders.push({
      tool: "desync-go",
      cmd: goDesync,
      args: ["untar", "-i", "-s", `${dir}/c-store`, `${dir}/c.caidx`, out],
    });
  }
  await race("untar -i (fresh dir)", untarContenders, fresh(out), undefined, bytes);
}

console.log(
  `\n${"operation".padEnd(32)}${"tool".padEnd(10)}${"median s".padStart(10)}${"MB/s".padStart(8)}${
    "peak MiB".padStart(10)
  }`,
);
for (const row of rows) {
  const seconds = median(row.samples.map((s) => s.seconds));
  const peaks = row.samples.map((s) => s.peakMiB).filter((p): p is number => p !== undefined);
  const peak = peaks.length ? Math.max(...peaks).toFixed(0) : "n/a";
  const mbps = (row.bytes / 1e6 / seconds).toFixed(0);
  console.log(
    `${row.op.padEnd(32)}${row.tool.padEnd(10)}${seconds.toFixed(3).padStart(10)}${
      mbps.padStart(8)
    }${peak.padStart(10)}`,
  );
}
console.log("");
for (const row of rows) {
  if (row.tool === "desync") continue;
  const ourRow = rows.find((r) => r.op === row.op && r.tool === "desync")!;
  const ratio = median(row.samples.map((s) => s.seconds)) /
    median(ourRow.samples.map((s) => s.seconds));
  console.log(`${row.op}: desync is ${ratio.toFixed(2)}x ${row.tool}'s speed`);
}
