/**
 * Single blobs: extract from a local store, over HTTP (nginx) and SSH (casync
 * behind sshd), make into a fresh store, and the update scenario (v1 -> v2
 * over HTTP with v1 as the seed, with the bytes each tool fetched). Every row
 * runs casync, Go desync (where it can) and desync on the same data.
 */
import { xorshiftBytes } from "../pseudo_random.ts";
import { startNginx, startSshd } from "../../tests/interop/peers.ts";
import { type Bench, type Contender, GO_DESYNC, ours, settle } from "./harness.ts";

export type DataSet = "random" | "compressible";

/** Writes the blob: pseudo-random bytes, or a tar of installed system files (compressible). */
export async function makeBlob(path: string, sizeMiB: number, data: DataSet) {
  const size = sizeMiB << 20;
  if (data === "random") {
    await Deno.writeFile(path, xorshiftBytes(size, 0x9e3779b9));
    return;
  }
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  let written = 0;
  // Repeat the tar if the system holds less than asked for.
  while (written < size) {
    const tar = new Deno.Command("tar", {
      args: ["cf", "-", "/usr/lib", "/usr/share", "/usr/bin"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    for await (const part of tar.stdout) {
      const take = part.subarray(0, size - written);
      await file.write(take);
      written += take.length;
      if (written >= size) break;
    }
    await tar.stdout.cancel().catch(() => {});
    tar.kill();
    await tar.status;
  }
  file.close();
}

export async function benchBlobs(
  bench: Bench,
  only: readonly string[],
  sizeMiB: number,
  data: DataSet,
) {
  const { dir } = bench;
  const blob = `${dir}/blob`;
  await makeBlob(blob, sizeMiB, data);
  const index = `${dir}/blob.caibx`;
  await bench.measure("casync", ["make", `--store=${dir}/store`, index, blob]);
  const out = `${dir}/out`;
  const removeOut = () => Deno.remove(out).catch(() => {});
  const bytes = sizeMiB << 20;
  const label = (op: string) => `${op} [${data}]`;
  const go = (args: string[]): Contender[] =>
    GO_DESYNC ? [{ tool: "desync-go", cmd: GO_DESYNC, args }] : [];

  if (only.includes("extract")) {
    await bench.race(
      label("extract local"),
      [
        { tool: "casync", cmd: "casync", args: ["extract", `--store=${dir}/store`, index, out] },
        ...go(["extract", "-s", `${dir}/store`, index, out]),
        ours(["extract", "-s", `${dir}/store`, index, out]),
      ],
      removeOut,
      { bytes },
    );
  }
  if (only.includes("http")) {
    const nginx = await startNginx(dir);
    try {
      const url = `${nginx.url}/store/`;
      await bench.race(
        label("extract http (nginx)"),
        [
          { tool: "casync", cmd: "casync", args: ["extract", `--store=${url}`, index, out] },
          ...go(["extract", "-s", url, index, out]),
          ours(["extract", "-s", url, index, out]),
        ],
        removeOut,
        { bytes },
      );
    } finally {
      await nginx.stop();
    }
  }
  if (only.includes("ssh")) {
    const sshd = await startSshd();
    try {
      await bench.race(
        label("extract ssh (casync+sshd)"),
        [
          {
            tool: "casync",
            cmd: "casync",
            args: ["extract", `--store=127.0.0.1:${dir}/store`, index, out],
          },
          ours(["extract", "-s", `ssh://127.0.0.1${dir}/store`, index, out]),
        ],
        removeOut,
        { bytes, env: { CASYNC_SSH_PATH: sshd.sshWrapper } },
      );
    } finally {
      await sshd.stop();
    }
  }
  if (only.includes("make")) {
    const fresh = async () => {
      for (const store of ["c-fresh", "g-fresh", "d-fresh"]) {
        await bench.discard(`${dir}/${store}`);
      }
      await Deno.mkdir(`${dir}/g-fresh`); // Go desync wants it to exist
      await settle();
    };
    await bench.race(
      label("make (fresh store)"),
      [
        {
          tool: "casync",
          cmd: "casync",
          args: ["make", `--store=${dir}/c-fresh`, `${dir}/m.caibx`, blob],
        },
        ...go(["make", "-s", `${dir}/g-fresh`, `${dir}/m.caibx`, blob]),
        ours(["make", "-s", `${dir}/d-fresh`, `${dir}/m.caibx`, blob]),
      ],
      fresh,
      { bytes },
    );
  }
  if (only.includes("update")) await benchUpdate(bench, blob, label("update v1->v2 http, v1 seed"));
  if (only.includes("tools")) await benchTools(bench, blob, index, label);
}

/**
 * The other operations on a blob and its store that Go desync has too (casync
 * has none of them): verify-index, verify of the store, cat to standard
 * output, chop into a fresh store, cache into a fresh local cache.
 */
async function benchTools(
  bench: Bench,
  blob: string,
  index: string,
  label: (op: string) => string,
) {
  const { dir } = bench;
  const store = `${dir}/store`;
  const bytes = (await Deno.stat(blob)).size;
  const both = (args: string[]): Contender[] => [
    ...(GO_DESYNC ? [{ tool: "desync-go", cmd: GO_DESYNC, args }] : []),
    ours(args),
  ];
  const nothing = () => Promise.resolve();
  await bench.race(label("verify-index"), both(["verify-index", index, blob]), nothing, { bytes });
  await bench.race(label("verify (store)"), both(["verify", "-s", store]), nothing, { bytes });
  // To standard output (the bench's is /dev/null); casync extracts a blob only to a file.
  await bench.race(label("cat (to stdout)"), both(["cat", "-s", store, index]), nothing, { bytes });
  // Fresh stores and caches, which Go desync wants to exist; finished ones are set aside.
  const fresh = (name: string) => async () => {
    await bench.discard(`${dir}/${name}`);
    await Deno.mkdir(`${dir}/${name}`);
    await settle();
  };
  await bench.race(
    label("chop (fresh store)"),
    both(["chop", "-s", `${dir}/chopped`, index, blob]),
    fresh("chopped"),
    { bytes },
  );
  await bench.race(
    label("cache (fresh local cache)"),
    both(["cache", "-s", store, "-c", `${dir}/cached`, index]),
    fresh("cached"),
    { bytes },
  );
}

/** v1 -> v2 over nginx with v1 as the seed, for every tool that can. */
async function benchUpdate(bench: Bench, v1: string, op: string) {
  const { dir } = bench;
  const v2 = `${dir}/v2`;
  const v1Index = `${v1}.caibx`;
  await Deno.writeFile(v2, updatedVersion(await Deno.readFile(v1)));
  await bench.measure("casync", ["make", `--store=${dir}/store`, `${dir}/v2.caibx`, v2]);
  const nginx = await startNginx(dir);
  try {
    const url = `${nginx.url}/store/`;
    const out = `${dir}/updated`;
    const target = `${dir}/v2.caibx`;
    const contenders: Contender[] = [
      {
        tool: "casync",
        cmd: "casync",
        args: ["extract", `--store=${url}`, `--seed=${v1}`, target, out],
      },
      ours(["extract", "-s", url, "--seed", v1Index, target, out]),
    ];
    if (GO_DESYNC) {
      contenders.push({
        tool: "desync-go",
        cmd: GO_DESYNC,
        args: ["extract", "-s", url, "--seed", v1Index, target, out],
      });
    }
    await bench.race(op, contenders, async () => {
      await Deno.remove(out).catch(() => {});
      await Deno.writeTextFile(nginx.accessLog, "");
    }, {
      bytes: (await Deno.stat(v2)).size,
      fetched: async () => bytesServed(await Deno.readTextFile(nginx.accessLog)),
    });
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
