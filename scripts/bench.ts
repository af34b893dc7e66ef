/**
 * Benchmarks desync against casync on the same data in one run and prints
 * medians, throughput, peak memory and ratios (casync time / our time: above 1
 * means we are faster). Both run warm (the data is in the page cache).
 *
 *   deno task bench [--size MiB] [--rounds N] [--only extract,http,ssh,make,s3]
 *
 * `s3` extracts from S3 on a throwaway Ceph cluster (radosgw) and from nginx,
 * at -n 10 and -n 32, and from the same bucket with Go desync where it is present.
 */
import { BINARY_PERMISSIONS } from "./permissions.ts";
import { xorshiftBytes } from "./pseudo_random.ts";
import { GO_DESYNC, GO_MISSING, startNginx, startSshd } from "../tests/interop/peers.ts";
import { CEPH_MISSING, startCeph } from "../tests/interop/ceph.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] ? Deno.args[i + 1] : fallback;
}

const sizeMiB = Number(option("size", "256"));
const rounds = Number(option("rounds", "3"));
const only = option("only", "extract,make,http,ssh").split(",");
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

  /** Runs casync's and our command alternately, `rounds` times, after `reset` each time. */
  const compare = async (
    op: string,
    casyncArgs: string[],
    ourArgs: string[],
    reset: () => Promise<void>,
    env?: Record<string, string>,
  ) => {
    const casyncRow: Row = { op, tool: "casync", samples: [] };
    const ourRow: Row = { op, tool: "desync", samples: [] };
    for (let round = 0; round < rounds; round++) {
      for (const row of round % 2 ? [ourRow, casyncRow] : [casyncRow, ourRow]) {
        await reset();
        const [cmd, args] = row.tool === "casync" ? ["casync", casyncArgs] as const : ours(ourArgs);
        row.samples.push(await measure(cmd, [...args], dir, env));
      }
    }
    rows.push(casyncRow, ourRow);
  };
  const index = `${dir}/blob.caibx`;
  const out = `${dir}/out`;
  const removeOut = () => Deno.remove(out).catch(() => {});

  /** Runs two commands alternately, `rounds` times each, after `reset` each time. */
  const comparePair = async (
    op: string,
    first: { tool: string; cmd: string; args: string[]; env?: Record<string, string> },
    second: { tool: string; cmd: string; args: string[]; env?: Record<string, string> },
    reset: () => Promise<void>,
  ) => {
    const pair = [first, second].map((run) => ({
      run,
      row: { op, tool: run.tool, samples: [] } as Row,
    }));
    for (let round = 0; round < rounds; round++) {
      for (const { run, row } of round % 2 ? [...pair].reverse() : pair) {
        await reset();
        row.samples.push(await measure(run.cmd, run.args, dir, run.env));
      }
    }
    rows.push(...pair.map(({ row }) => row));
  };

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

  // Extract from S3 on Ceph against nginx serving the same chunks, at two concurrencies.
  if (only.includes("s3")) {
    if (CEPH_MISSING) throw new Error(`--only s3: ${CEPH_MISSING}`);
    const ceph = await startCeph();
    const nginx = await startNginx(dir);
    try {
      const bucket = await ceph.freshBucket();
      const store = `${ceph.s3}/${bucket}/store`;
      const [cmd, args] = ours(["make", "-s", store, `${dir}/s3.caibx`, blob]);
      await measure(cmd, [...args], dir, ceph.env);
      const go = !GO_MISSING;
      for (const n of ["10", "32"]) {
        const desync = (location: string, tool: string) => {
          const [cmd, args] = ours(["extract", "-n", n, "-s", location, index, out]);
          return { tool, cmd, args: [...args], env: ceph.env };
        };
        await comparePair(
          `extract -n ${n}: nginx vs s3`,
          desync(`${nginx.url}/store/`, "nginx"),
          desync(store, "s3"),
          removeOut,
        );
        if (go) {
          await comparePair(
            `extract s3 -n ${n}: Go vs ours`,
            {
              tool: "go",
              cmd: GO_DESYNC,
              args: ["extract", "-n", n, "-s", store, index, out],
              env: ceph.env,
            },
            desync(store, "desync"),
            removeOut,
          );
        }
      }
    } finally {
      await nginx.stop();
      await ceph.stop();
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
} finally {
  await Deno.remove(dir, { recursive: true });
}

console.log(
  `\n${"operation".padEnd(32)}${"tool".padEnd(8)}${"median s".padStart(10)}${"MB/s".padStart(8)}${
    "peak MiB".padStart(10)
  }`,
);
for (const row of rows) {
  const seconds = median(row.samples.map((s) => s.seconds));
  const peaks = row.samples.map((s) => s.peakMiB).filter((p): p is number => p !== undefined);
  const peak = peaks.length ? Math.max(...peaks).toFixed(0) : "n/a";
  const mbps = ((sizeMiB * 1048576) / 1e6 / seconds).toFixed(0);
  console.log(
    `${row.op.padEnd(32)}${row.tool.padEnd(8)}${seconds.toFixed(3).padStart(10)}${
      mbps.padStart(8)
    }${peak.padStart(10)}`,
  );
}
console.log("");
for (let i = 0; i + 1 < rows.length; i += 2) {
  const ratio = median(rows[i].samples.map((s) => s.seconds)) /
    median(rows[i + 1].samples.map((s) => s.seconds));
  console.log(`${rows[i].op}: ${rows[i + 1].tool} is ${ratio.toFixed(2)}x ${rows[i].tool}'s speed`);
}
