/**
 * Benchmarks desync against casync on the same data in one run and prints
 * medians, throughput, peak memory and ratios (casync time / our time: above 1
 * means we are faster). Both run warm (the data is in the page cache).
 *
 *   deno task bench [--size MiB] [--rounds N] [--only extract,make]
 */
import { BINARY_PERMISSIONS } from "./permissions.ts";
import { startNginx, startSshd } from "../tests/interop/peers.ts";

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

function makeBlob(size: number): Uint8Array {
  const data = new Uint8Array(size);
  const words = new Uint32Array(data.buffer, 0, size >> 2);
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return data;
}

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
  await Deno.writeFile(blob, makeBlob(sizeMiB << 20));
  console.error(
    `bench: ${sizeMiB} MiB pseudo-random blob, ${rounds} rounds, ${navigator.hardwareConcurrency} cores`,
  );
  await measure("casync", ["make", `--store=${dir}/store`, `${dir}/blob.caibx`, blob], dir);

  if (only.includes("extract")) {
    const casyncRow: Row = { op: "extract (local store)", tool: "casync", samples: [] };
    const ourRow: Row = { op: "extract (local store)", tool: "desync", samples: [] };
    for (let round = 0; round < rounds; round++) {
      for (const row of round % 2 ? [ourRow, casyncRow] : [casyncRow, ourRow]) {
        await Deno.remove(`${dir}/out`).catch(() => {});
        const [cmd, args] = row.tool === "casync"
          ? ["casync", [
            "extract",
            `--store=${dir}/store`,
            `${dir}/blob.caibx`,
            `${dir}/out`,
          ]] as const
          : ours(["extract", "-s", `${dir}/store`, `${dir}/blob.caibx`, `${dir}/out`]);
        row.samples.push(await measure(cmd, [...args], dir));
      }
    }
    rows.push(casyncRow, ourRow);
  }

  // Extract over the network: nginx serving the store, and casync behind sshd.
  const remote: { name: string; casync: string; ours: string; env?: Record<string, string> }[] = [];
  const stops: (() => Promise<void>)[] = [];
  if (only.includes("http")) {
    const nginx = await startNginx(dir);
    stops.push(nginx.stop);
    remote.push({
      name: "http (nginx)",
      casync: `${nginx.url}/store/`,
      ours: `${nginx.url}/store/`,
    });
  }
  if (only.includes("ssh")) {
    const sshd = await startSshd();
    stops.push(sshd.stop);
    remote.push({
      name: "ssh (casync+sshd)",
      casync: `127.0.0.1:${dir}/store`,
      ours: `ssh://127.0.0.1${dir}/store`,
      env: { CASYNC_SSH_PATH: sshd.sshWrapper },
    });
  }
  try {
    for (const source of remote) {
      const casyncRow: Row = { op: `extract ${source.name}`, tool: "casync", samples: [] };
      const ourRow: Row = { op: `extract ${source.name}`, tool: "desync", samples: [] };
      for (let round = 0; round < rounds; round++) {
        for (const row of round % 2 ? [ourRow, casyncRow] : [casyncRow, ourRow]) {
          await Deno.remove(`${dir}/out`).catch(() => {});
          const [cmd, args] = row.tool === "casync"
            ? ["casync", [
              "extract",
              `--store=${source.casync}`,
              `${dir}/blob.caibx`,
              `${dir}/out`,
            ]] as const
            : ours(["extract", "-s", source.ours, `${dir}/blob.caibx`, `${dir}/out`]);
          row.samples.push(await measure(cmd, [...args], dir, source.env));
        }
      }
      rows.push(casyncRow, ourRow);
    }
  } finally {
    for (const stop of stops) await stop();
  }

  if (only.includes("make")) {
    const casyncRow: Row = { op: "make (fresh store)", tool: "casync", samples: [] };
    const ourRow: Row = { op: "make (fresh store)", tool: "desync", samples: [] };
    for (let round = 0; round < rounds; round++) {
      for (const row of round % 2 ? [ourRow, casyncRow] : [casyncRow, ourRow]) {
        await Deno.remove(`${dir}/fresh`, { recursive: true }).catch(() => {});
        const [cmd, args] = row.tool === "casync"
          ? ["casync", ["make", `--store=${dir}/fresh`, `${dir}/m.caibx`, blob]] as const
          : ours(["make", "-s", `${dir}/fresh`, `${dir}/m.caibx`, blob]);
        row.samples.push(await measure(cmd, [...args], dir));
      }
    }
    rows.push(casyncRow, ourRow);
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
  console.log(`${rows[i].op}: desync is ${ratio.toFixed(2)}x casync's speed`);
}
