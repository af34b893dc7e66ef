/**
 * The chunk-server benchmark: N concurrent clients fetch random chunks of one
 * store from our chunk-server, Go desync's chunk-server and nginx serving the
 * same directory, in one run. Prints requests/s, MB/s, p99 latency, errors, the
 * server's CPU time per request (user and system, all its threads and
 * processes: less sensitive to other load on the machine than requests/s), its
 * memory (resident set at the start, peak, at the end) and the load average
 * when the run began. Ours runs one thread per core (up to 8); nginx runs
 * stock (one worker) and with as many workers as we have threads. Uses wrk
 * where installed (apt-get install wrk), else a load generator in Deno.
 *
 * Run from scripts/bench.ts (`deno task bench --only server`).
 */
import { BINARY_PERMISSIONS, RUNTIME_FLAGS } from "../permissions.ts";
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
  /** The server's CPU time (user + system) per request, in microseconds. */
  cpuUsPerRequest: number;
  rssStartMiB: number;
  rssPeakMiB: number;
  rssEndMiB: number;
  /** The 1-minute load average when the run began. */
  load: number;
}

/** Our threads, and nginx's workers in the fair comparison: one per core, as our default. */
const THREADS = Math.min(navigator.hardwareConcurrency || 1, 8);
const OURS = `desync (${THREADS} thread${THREADS > 1 ? "s" : ""})`;
const NGINX_STOCK = "nginx (1 worker)";
const NGINX_SAME = `nginx (${THREADS} workers)`;

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
    [OURS, () => startOurs(options.store, THREADS)],
    ["desync-go", () => startGo(options.store)],
    [NGINX_STOCK, () => startNginxOn(options.store, options.dir, 1)],
  ];
  if (THREADS > 1) {
    starters.push([NGINX_SAME, () => startNginxOn(options.store, options.dir, THREADS)]);
  }
  for (const [name, start] of starters) {
    if (name === "desync-go" && !isFile(GO_DESYNC)) {
      console.error(`bench: skipping Go desync (not at ${GO_DESYNC})`);
      continue;
    }
    if (name.startsWith("nginx") && !which("nginx")) {
      console.error(`bench: skipping ${name} (nginx not installed)`);
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
      const run = async (server: string, seconds: number) => {
        const loadAverage = loadAverageNow();
        const memory = sampleMemory(served.pid);
        const cpuBefore = cpuSeconds(served.pid);
        const result = await load(wrk, served.url, paths, options.clients, seconds, options.dir);
        const cpu = cpuSeconds(served.pid) - cpuBefore;
        const rss = await memory.stop();
        const cpuUsPerRequest = cpu * 1e6 / (result.requestsPerSecond * seconds);
        rows.push({ server, ...result, cpuUsPerRequest, ...rss, load: loadAverage });
      };
      await run(name, options.seconds);
      if (name === OURS && options.soakSeconds > 0) {
        await run(`… ${options.soakSeconds} s soak`, options.soakSeconds);
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
      `\n${"server".padEnd(22)}${"req/s".padStart(9)}${"MB/s".padStart(8)}${"p99 ms".padStart(8)}` +
      `${"errors".padStart(8)}${"CPU us/req".padStart(11)}${
        "RSS start/peak/end MiB".padStart(25)
      }` +
      `${"load".padStart(6)}`,
  );
  for (const row of rows) {
    const rss = `${row.rssStartMiB.toFixed(0)}/${row.rssPeakMiB.toFixed(0)}/${
      row.rssEndMiB.toFixed(0)
    }`;
    console.log(
      `${row.server.padEnd(22)}${row.requestsPerSecond.toFixed(0).padStart(9)}${
        row.mbPerSecond.toFixed(0).padStart(8)
      }${row.p99Ms.toFixed(2).padStart(8)}${String(row.errors).padStart(8)}${
        row.cpuUsPerRequest.toFixed(1).padStart(11)
      }${rss.padStart(25)}${row.load.toFixed(1).padStart(6)}`,
    );
  }
  const ours = rows.find((row) => row.server === OURS);
  for (const other of rows.filter((row) => row.server !== OURS && !row.server.startsWith("…"))) {
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

function startOurs(store: string, threads: number): Promise<Served> {
  return spawnServer("ours", Deno.execPath(), (port) => [
    "run",
    "--quiet",
    ...BINARY_PERMISSIONS,
    ...RUNTIME_FLAGS,
    MAIN,
    "chunk-server",
    "-s",
    store,
    "-l",
    `127.0.0.1:${port}`,
    "--threads",
    String(threads),
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

/** nginx with its stock settings but for the number of workers, serving the store directory. */
async function startNginxOn(store: string, scratch: string, workers: number): Promise<Served> {
  const dir = await Deno.makeTempDir({ dir: scratch, prefix: "nginx-" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `${Deno.uid() === 0 ? "user root;" : ""}
worker_processes ${workers};
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
  forProcessTree(pid, (id) => {
    const status = Deno.readTextFileSync(`/proc/${id}/status`);
    total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  });
  return total;
}

/** User and system CPU time of a process (all its threads) and its descendants. */
function cpuSeconds(pid: number): number {
  const ticksPerSecond = 100; // USER_HZ on Linux
  let ticks = 0;
  forProcessTree(pid, (id) => {
    // The fields after the command name, which is in parentheses and may hold spaces.
    const stat = Deno.readTextFileSync(`/proc/${id}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
  });
  return ticks / ticksPerSecond;
}

/** Calls `visit` for a process and each of its descendants that is still running. */
function forProcessTree(pid: number, visit: (id: number) => void) {
  try {
    visit(pid);
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const children = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`);
      for (const child of children.trim().split(/\s+/).filter(Boolean)) {
        forProcessTree(Number(child), visit);
      }
    }
  } catch {
    // the process ended
  }
}

function loadAverageNow(): number {
  return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
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
