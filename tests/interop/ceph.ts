/**
 * A throwaway single-node Ceph cluster with an S3 gateway on 127.0.0.1: one
 * monitor, one in-memory OSD and radosgw from Debian's packages, no
 * authentication inside the cluster, one S3 user with fixed keys. Starting it
 * takes ~10 s, so a test file shares one (`sharedCeph`) across its tests.
 * The gateway runs with `tcp_nodelay=1`: without it, every request on a
 * keep-alive connection waits ~40 ms (Nagle against delayed ACKs).
 */
import { AwsClient } from "aws4fetch";
import { assertEquals } from "../assert.ts";
import { which } from "../helpers.ts";
import { freePort } from "./peers.ts";

export const CEPH_MISSING =
  ["ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph"].every((tool) => which(tool))
    ? false
    : "Ceph is not installed (apt-get install ceph-mon ceph-osd radosgw)";

export const CEPH_ACCESS_KEY = "DESYNCTESTACCESS";
export const CEPH_SECRET_KEY = "desync-test-secret-key";

export interface CephPeer {
  /** http://127.0.0.1:PORT of the S3 gateway. */
  endpoint: string;
  /** `s3+http://127.0.0.1:PORT` — append `/bucket/prefix`. */
  s3: string;
  /** The environment that gives desync (ours and Go's) the S3 user's keys. */
  env: Record<string, string>;
  /** Creates a bucket (through a signed request of the test's own). */
  createBucket(name: string): Promise<void>;
  /** A new bucket with a unique name. */
  freshBucket(): Promise<string>;
  /** Stops the daemons; returns the PIDs of any still running after (none, normally). */
  stop(): Promise<number[]>;
}

async function run(program: string, args: string[], log: string): Promise<string> {
  const out = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" }).output();
  const decoder = new TextDecoder();
  if (out.code !== 0) {
    let logs = "";
    try {
      for (const entry of Deno.readDirSync(log)) {
        logs += `\n--- ${entry.name}\n${
          Deno.readTextFileSync(`${log}/${entry.name}`).slice(-2000)
        }`;
      }
    } catch {
      // no logs yet
    }
    throw new Error(
      `${program} ${args.join(" ")} failed (${out.code}): ${decoder.decode(out.stderr)}${logs}`,
    );
  }
  return decoder.decode(out.stdout);
}

/**
 * Ceph 16's clients and OSD sometimes talk to a fresh monitor before they know
 * the cluster's fsid ("wrong fsid", "problem getting command descriptions")
 * and give up; the same command a moment later works.
 */
async function retried(step: () => Promise<unknown>) {
  for (let attempt = 1;; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

function pidsOf(dir: string): number[] {
  const pids: number[] = [];
  try {
    for (const entry of Deno.readDirSync(`${dir}/run`)) {
      if (!entry.name.endsWith(".pid")) continue;
      const pid = Number(Deno.readTextFileSync(`${dir}/run/${entry.name}`).trim());
      if (pid > 0) pids.push(pid);
    }
  } catch {
    // not started
  }
  return pids;
}

/** Whether a process still runs (a zombie waiting to be reaped does not). */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Kills the cluster's daemons at once and removes its directory (also from an unload handler). */
function killNow(dir: string) {
  for (const pid of pidsOf(dir)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // gone
  }
}

export async function startCeph(): Promise<CephPeer> {
  const dir = await Deno.makeTempDir({ prefix: "desync-ceph-" });
  const onUnload = () => killNow(dir);
  globalThis.addEventListener("unload", onUnload);
  try {
    for (const sub of ["mon", "osd0", "run", "log"]) await Deno.mkdir(`${dir}/${sub}`);
    const fsid = crypto.randomUUID();
    const monPort = freePort();
    const rgwPort = freePort();
    const conf = `${dir}/ceph.conf`;
    await Deno.writeTextFile(
      conf,
      `[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${monPort}
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr2 = false
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd objectstore = memstore
memstore device bytes = 2147483648
osd crush chooseleaf type = 0
run dir = ${dir}/run
log file = ${dir}/log/$name.log
admin socket = ${dir}/run/$name.asok
pid file = ${dir}/run/$name.pid
[mon.a]
mon data = ${dir}/mon
[osd.0]
osd data = ${dir}/osd0
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
`,
    );
    const log = `${dir}/log`;
    await run("ceph-mon", ["--mkfs", "-i", "a", "-c", conf, "--fsid", fsid], log);
    await run("ceph-mon", ["-i", "a", "-c", conf], log);
    await retried(() => run("ceph", ["-c", conf, "osd", "create"], log));
    await run("ceph-osd", ["-i", "0", "-c", conf, "--mkfs"], log);
    await retried(() => run("ceph-osd", ["-i", "0", "-c", conf], log));
    await run("radosgw", ["-c", conf, "-n", "client.rgw"], log);
    await retried(() =>
      run("radosgw-admin", [
        "-c",
        conf,
        "-n",
        "client.rgw",
        "user",
        "create",
        "--uid=desync",
        "--display-name=desync",
        `--access-key=${CEPH_ACCESS_KEY}`,
        `--secret=${CEPH_SECRET_KEY}`,
      ], log)
    );
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const response = await fetch(`${endpoint}/`);
        await response.body?.cancel();
        if (response.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`radosgw did not answer on ${endpoint}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const aws = new AwsClient({
      accessKeyId: CEPH_ACCESS_KEY,
      secretAccessKey: CEPH_SECRET_KEY,
      service: "s3",
      region: "us-east-1",
      retries: 0,
    });
    let buckets = 0;
    const createBucket = async (name: string) => {
      const response = await aws.fetch(`${endpoint}/${name}`, { method: "PUT" });
      const text = await response.text();
      if (response.status !== 200) {
        throw new Error(`creating bucket ${name}: ${response.status} ${text}`);
      }
    };
    return {
      endpoint,
      s3: `s3+http://127.0.0.1:${rgwPort}`,
      env: { S3_ACCESS_KEY: CEPH_ACCESS_KEY, S3_SECRET_KEY: CEPH_SECRET_KEY },
      createBucket,
      async freshBucket() {
        const name = `bucket-${++buckets}-${crypto.randomUUID().slice(0, 8)}`;
        await createBucket(name);
        return name;
      },
      async stop() {
        globalThis.removeEventListener("unload", onUnload);
        const pids = pidsOf(dir);
        for (const pid of pids) {
          try {
            Deno.kill(pid, "SIGTERM");
          } catch {
            // gone
          }
        }
        const until = Date.now() + 2_000;
        while (pids.some(alive) && Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        killNow(dir);
        for (let i = 0; i < 50 && pids.some(alive); i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return pids.filter(alive);
      },
    };
  } catch (error) {
    globalThis.removeEventListener("unload", onUnload);
    killNow(dir);
    throw error;
  }
}

let shared: Promise<CephPeer> | undefined;

/** One cluster for the whole test file, started by the first test that asks. */
export function sharedCeph(): Promise<CephPeer> {
  shared ??= startCeph();
  return shared;
}

/** Registers the test that stops the file's shared cluster; call it after the file's other tests. */
export function stopSharedCephAfterAll(ignore: string | false) {
  Deno.test({
    name: "stop the shared Ceph cluster",
    ignore: Boolean(ignore),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const peer = await shared?.catch(() => undefined);
      shared = undefined;
      if (peer) assertEquals(await peer.stop(), [], "Ceph daemons still running");
    },
  });
}
