/**
 * The main job as a user lives it, on data made on the spot: v1 and v2 of a
 * 64 MiB image are chunked into a store with `desync make`; the store is
 * served over HTTP on loopback by `desync chunk-server`; v1 is extracted from
 * it, then v2 with v1 as the seed. Each step prints how many bytes it fetched
 * (from the server's access log) and how long it took; outputs are checked.
 * Every command runs with the permission flags the README documents.
 *
 *   deno task demo            (or: npx -y deno@2.9.6 task demo)
 */
import { createHash } from "node:crypto";
import { COMMAND_PERMISSIONS } from "./permissions.ts";
import { xorshiftBytes } from "./pseudo_random.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const SIZE = 64 << 20;

function imageV1(): Uint8Array {
  const data = xorshiftBytes(SIZE, 0x2545f491);
  // Some repetition and a hole, as real images have: dedup and zero-chunk paths get used.
  data.copyWithin(40 << 20, 8 << 20, 16 << 20);
  data.fill(0, 20 << 20, 24 << 20);
  return data;
}

/** v1 with a few scattered edits, 8 KiB inserted and 100 KB deleted: a typical update. */
function imageV2(v1: Uint8Array): Uint8Array {
  const insertAt = 10 << 20;
  const deleteAt = 50 << 20;
  const parts = [
    v1.subarray(0, insertAt),
    xorshiftBytes(8 << 10, 7),
    v1.subarray(insertAt, deleteAt),
    v1.subarray(deleteAt + 100_000),
  ];
  const v2 = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    v2.set(part, at);
    at += part.length;
  }
  for (let k = 1; k <= 8; k++) v2.set(new TextEncoder().encode(`patch ${k}`), k * (7 << 20));
  return v2;
}

function desyncCommand(permissions: readonly string[], args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...permissions, MAIN, ...args],
    stdout: "inherit",
    stderr: "inherit",
  });
}

async function desync(command: string, args: string[], permissions = COMMAND_PERMISSIONS[command]) {
  const started = performance.now();
  const { code } = await desyncCommand(permissions, [command, ...args]).output();
  if (code !== 0) throw new Error(`desync ${command} failed with exit code ${code}`);
  return (performance.now() - started) / 1000;
}

/** Starts the chunk server on a free loopback port; resolves once it listens. */
async function serve(store: string, log: string) {
  const permissions = ["--allow-net=127.0.0.1", "--allow-read", `--allow-write=${log}`];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...permissions, MAIN, "chunk-server", "-s", store]
      .concat(["-l", "127.0.0.1:0", "--log", log]),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.getReader();
  let said = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`chunk-server did not start: ${said}`);
    said += new TextDecoder().decode(value);
    const url = /listening on (\S+)/.exec(said)?.[1];
    if (url) {
      reader.releaseLock();
      child.stderr.pipeTo(Deno.stderr.writable, { preventClose: true }).catch(() => {});
      return {
        url,
        async stop() {
          child.kill("SIGTERM");
          await child.status;
        },
      };
    }
  }
}

/** Bytes the server sent since the last call (its access log, common log format). */
function bytesServedSince(log: string, seen: { lines: number }): number {
  const lines = Deno.readTextFileSync(log).split("\n").filter(Boolean);
  let total = 0;
  for (const line of lines.slice(seen.lines)) {
    const match = /" 200 (\d+)/.exec(line);
    if (match) total += Number(match[1]);
  }
  seen.lines = lines.length;
  return total;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(2)} MiB`;

const dir = await Deno.makeTempDir({ prefix: "desync-demo-" });
try {
  const v1 = imageV1();
  const v2 = imageV2(v1);
  await Deno.writeFile(`${dir}/v1.img`, v1);
  await Deno.writeFile(`${dir}/v2.img`, v2);
  console.log(`demo: v1 and v2 of a ${SIZE >> 20} MiB image in ${dir}`);
  for (const version of ["v1", "v2"]) {
    const seconds = await desync("make", [
      "-s",
      `${dir}/store`,
      `${dir}/${version}.caibx`,
      `${dir}/${version}.img`,
    ]);
    console.log(`demo: make ${version} into the store took ${seconds.toFixed(2)} s`);
  }

  const log = `${dir}/access.log`;
  const server = await serve(`${dir}/store`, log);
  const seen = { lines: 0 };
  let identical = true;
  try {
    console.log(`demo: the store is served by desync chunk-server at ${server.url}`);
    const net = [...COMMAND_PERMISSIONS.extract, "--allow-net=127.0.0.1"];
    await Deno.mkdir(`${dir}/client`);
    const first = await desync(
      "extract",
      ["-s", server.url, `${dir}/v1.caibx`, `${dir}/client/image-v1.img`],
      net,
    );
    const same1 = sha256(await Deno.readFile(`${dir}/client/image-v1.img`)) === sha256(v1);
    console.log(
      `demo: extract v1 fetched ${mib(bytesServedSince(log, seen))} in ${first.toFixed(2)} s; ` +
        `identical: ${same1}`,
    );
    // The update: v1's index and data, already on this machine, are the seed.
    const second = await desync("extract", [
      "-s",
      server.url,
      "--seed",
      `${dir}/v1.caibx:${dir}/client/image-v1.img`,
      `${dir}/v2.caibx`,
      `${dir}/client/image-v2.img`,
    ], net);
    const same2 = sha256(await Deno.readFile(`${dir}/client/image-v2.img`)) === sha256(v2);
    console.log(
      `demo: update to v2 with v1 as the seed fetched ${mib(bytesServedSince(log, seen))} ` +
        `in ${second.toFixed(2)} s; identical: ${same2}`,
    );
    identical = same1 && same2;
  } finally {
    await server.stop();
  }
  console.log(`demo: output identical: ${identical}`);
  if (!identical) Deno.exit(1);
} finally {
  await Deno.remove(dir, { recursive: true });
}
