/**
 * The chunk-server benchmark: N concurrent clients fetch random chunks of one
 * store from our chunk-server, Go desync's chunk-server and nginx serving the
 * same directory, in one run. Prints requests/s, MB/s, p99 latency, errors and
 * the server's memory (resident set at the start, peak, at the end). Uses wrk
 * where installed (apt-get install wrk), else a load generator in Deno.
 *
 * Run from scripts/bench.ts (`deno task bench --only server`).
 */
import { BINARY_PERMISSIONS } from "../permissions.ts";
import { GO_DESYNC as FOUND_GO_DESYNC } from "./harness.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const GO_DESYNC = FOUND_GO_DESYNC ?? "desync-go (not found)";

export interface ServerBenchOptions {
  /** The store directory all servers serve. */
  store: string;
  /** A scratch directory. */
  dir: string;
  clients: number;
  seconds: number;
  /** Also soak our server this long, sampling its memory. */
  soakSeconds: number;
  /** The load generator: wrk when installed (`auto`), or the one in Deno. */
  loader?: "auto" | "deno";
}

export interface ServerBenchRow {
  server: string;
  requestsPerSecond: number;
  mbPerSecond: number;
  p99Ms: number;
  errors: number;
  rssStartMiB: number;
  rssPeakMiB: number;
  rssEndMiB: number;
}

interface Served {
  name: string;
  /** Base URL of the store. */
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function benchServers(options: ServerBenchOptions): Promise<ServerBenchRow[]> {
  const paths = chunkPaths(options.store);
  if (paths.length === 0) throw new Error(`no chunks in ${options.store}`);
  const wrk = options.loader === "deno" ? undefined : which("wrk");
  const rows: ServerBenchRow[] = [];
  const starters: [string, () => Promise<Served>][] = [
    ["desync (ours)", () => startOurs(options.store)],
    ["desync-go", () => startGo(options.store)],
    ["nginx", () => startNginxOn(options.store, options.dir)],
  ];
  for (const [name, start] of starters) {
    if (name === "desync-go" && !isFile(GO_DESYNC)) {
      console.error(`bench: skipping Go desync (not at ${GO_DESYNC})`);
      continue;
    }
    if (name === "nginx" && !which("nginx")) {
      console.error("bench: skipping nginx (not installed)");
      continue;
    }
    const served = await start();
    try {
      // A short warm-up fills the page cache and the servers' pools alike.
      await load(
        wrk,
        served.url,
        paths,
        options.clients,
        Math.min(2, options.seconds),
        options.dir,
      );
      const memory = sampleMemory(served.pid);
      const result = await load(
        wrk,
        served.url,
        paths,
        options.clients,
        options.seconds,
        options.dir,
      );
      const rss = await memory.stop();
      rows.push({ server: name, ...result, ...rss });
      if (name === "desync (ours)" && options.soakSeconds > 0) {
        const soakMemory = sampleMemory(served.pid);
        const soak = await load(
          wrk,
          served.url,
          paths,
          options.clients,
          options.soakSeconds,
          options.dir,
        );
        const soakRss = await soakMemory.stop();
        rows.push({ server: `ours, ${options.soakSeconds} s soak`, ...soak, ...soakRss });
      }
    } finally {
      await served.stop();
    }
  }
  return rows;
}

export function printServerRows(rows: readonly ServerBenchRow[], clients: number) {
  console.log(
    `\nchunk-server, ${clients} clients, random chunks` +
      `\n${"server".padEnd(26)}${"req/s".padStart(9)}${"MB/s".padStart(8)}${"p99 ms".padStart(8)}` +
      `${"errors".padStart(8)}${"RSS start/peak/end MiB".padStart(25)}`,
  );
  for (const row of rows) {
    const rss = `${row.rssStartMiB.toFixed(0)}/${row.rssPeakMiB.toFixed(0)}/${
      row.rssEndMiB.toFixed(0)
    }`;
    console.log(
      `${row.server.padEnd(26)}${row.requestsPerSecond.toFixed(0).padStart(9)}${
        row.mbPerSecond.toFixed(0).padStart(8)
      }${row.p99Ms.toFixed(2).padStart(8)}${String(row.errors).padStart(8)}${rss.padStart(25)}`,
    );
  }
  const ours = rows.find((row) => row.server === "desync (ours)");
  for (const other of rows.filter((row) => row.server === "nginx" || row.server === "desync-go")) {
    if (!ours) break;
    const ratio = ours.requestsPerSecond / other.requestsPerSecond;
    console.log(
      `chunk-server: ours serves ${(ratio * 100).toFixed(0)}% of ${other.server}'s requests/s`,
    );
  }
}

/** `/<4 hex>/<id>.cacnk` of every chunk in a store directory. */
function chunkPaths(store: string): string[] {
  const paths: string[] = [];
  for (const prefix of Deno.readDirSync(store)) {
    if (!prefix.isDirectory) continue;
    for (const file of Deno.readDirSync(`${store}/${prefix.name}`)) {
      if (file.name.endsWith(".cacnk")) paths.push(`/${prefix.name}/${file.name}`);
    }
  }
  return paths;
}

function startOurs(store: string): Promise<Served> {
  return spawnServer("ours", Deno.execPath(), (port) => [
    "run",
    "--quiet",
    ...BINARY_PERMISSIONS,
    MAIN,
    "chunk-server",
    "-s",
    store,
    "-l",
    `127.0.0.1:${port}`,
  ]);
}

function startGo(store: string): Promise<Served> {
  return spawnServer("desync-go", GO_DESYNC, (port) => [
    "chunk-server",
    "-s",
    store,
    "-l",
    `127.0.0.1:${port}`,
  ]);
}

/** Runs a server on a free port until it listens; `stop` sends SIGTERM and waits. */
async function spawnServer(
  name: string,
  program: string,
  args: (port: number) => string[],
  port = freePort(),
): Promise<Served> {
  const child = new Deno.Command(program, { args: args(port), stdout: "null", stderr: "null" })
    .spawn();
  await waitForPort(port);
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** nginx with its stock settings (one worker) serving the store directory. */
async function startNginxOn(store: string, scratch: string): Promise<Served> {
  const dir = await Deno.makeTempDir({ dir: scratch, prefix: "nginx-" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `${Deno.uid() === 0 ? "user root;" : ""}
error_log ${dir}/error.log;
pid ${dir}/nginx.pid;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server { listen 127.0.0.1:${port}; root ${store}; }
}
`,
  );
  return spawnServer(
    "nginx",
    which("nginx")!,
    () => ["-p", dir, "-c", `${dir}/nginx.conf`, "-g", "daemon off;"],
    port,
  );
}

interface LoadResult {
  requestsPerSecond: number;
  mbPerSecond: number;
  p99Ms: number;
  errors: number;
}

function load(
  wrk: string | undefined,
  base: string,
  paths: readonly string[],
  clients: number,
  seconds: number,
  scratch: string,
): Promise<LoadResult> {
  return wrk
    ? loadWithWrk(wrk, base, paths, clients, seconds, scratch)
    : loadWithDeno(base, paths, clients, seconds);
}

async function loadWithWrk(
  wrk: string,
  base: string,
  paths: readonly string[],
  clients: number,
  seconds: number,
  scratch: string,
): Promise<LoadResult> {
  const list = `${scratch}/paths.txt`;
  const script = `${scratch}/random.lua`;
  await Deno.writeTextFile(list, paths.join("\n") + "\n");
  await Deno.writeTextFile(
    script,
    `local paths = {}
for line in io.lines("${list}") do paths[#paths + 1] = line end
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
`,
  );
  const out = await new Deno.Command(wrk, {
    args: [
      `-t${Math.min(2, clients)}`,
      `-c${clients}`,
      `-d${seconds}s`,
      "--latency",
      "-s",
      script,
      base,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) throw new Error(`wrk failed: ${new TextDecoder().decode(out.stderr)}`);
  const requests = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const transfer = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(text);
  const scale: Record<string, number> = { B: 1, KB: 1024, MB: 1 << 20, GB: 1 << 30 };
  const bytes = transfer ? Number(transfer[1]) * (scale[transfer[2]] ?? NaN) : NaN;
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(text);
  const p99Ms = p99 ? Number(p99[1]) * { us: 0.001, ms: 1, s: 1000 }[p99[2] as "us"] : NaN;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
    .exec(text);
  const errors = non2xx +
    (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  return { requestsPerSecond: requests, mbPerSecond: bytes / 1e6, p99Ms, errors };
}

/** Without wrk: `clients` keep-alive loops of fetch, for `seconds`. */
async function loadWithDeno(
  base: string,
  paths: readonly string[],
  clients: number,
  seconds: number,
): Promise<LoadResult> {
  const client = Deno.createHttpClient({});
  const latencies: number[] = [];
  let bytes = 0;
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % paths.length;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < end) {
      const started = performance.now();
      try {
        const response = await fetch(`${base}${paths[next()]}`, { client } as RequestInit);
        const body = await response.arrayBuffer();
        if (response.status !== 200) errors++;
        bytes += body.byteLength;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - started);
    }
  }));
  client.close();
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: latencies.length / seconds,
    mbPerSecond: bytes / 1e6 / seconds,
    p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? NaN,
    errors,
  };
}

/** Samples the resident memory of a process and its descendants every 250 ms. */
function sampleMemory(pid: number) {
  const samples: number[] = [];
  const take = () => samples.push(residentMiB(pid));
  take();
  const timer = setInterval(take, 250);
  return {
    stop() {
      clearInterval(timer);
      take();
      return Promise.resolve({
        rssStartMiB: samples[0],
        rssPeakMiB: Math.max(...samples),
        rssEndMiB: samples.at(-1)!,
      });
    },
  };
}

function residentMiB(pid: number): number {
  let total = 0;
  const visit = (id: number) => {
    try {
      const status = Deno.readTextFileSync(`/proc/${id}/status`);
      total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
      for (const task of Deno.readDirSync(`/proc/${id}/task`)) {
        const children = Deno.readTextFileSync(`/proc/${id}/task/${task.name}/children`);
        for (const child of children.trim().split(/\s+/).filter(Boolean)) visit(Number(child));
      }
    } catch {
      // the process ended
    }
  };
  visit(pid);
  return total;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitForPort(port: number) {
  for (let i = 0; i < 300; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`no server came up on port ${port}`);
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function which(tool: string): string | undefined {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), "/usr/sbin", "/sbin"];
  return dirs.map((dir) => `${dir}/${tool}`).find(isFile);
}
