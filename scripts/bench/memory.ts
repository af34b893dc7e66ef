/**
 * Peak memory of extract and make as the blob grows: 64 MiB, 256 MiB and 1 GiB
 * of pseudo-random data, and a 4 GiB sparse file (80 MiB of data in five
 * places, zeros elsewhere). Each row is one tool's run, the store made by
 * casync; the peak column is what to read.
 */
import { xorshiftBytes } from "../pseudo_random.ts";
import { type Bench, ours } from "./harness.ts";

const MiB = 1 << 20;

async function randomBlob(path: string, size: number) {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let done = 0; done < size; done += 64 * MiB) {
    const piece = xorshiftBytes(Math.min(64 * MiB, size - done), 0x5eed + done / MiB);
    await file.write(piece);
  }
}

async function sparseBlob(path: string, size: number) {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  await file.truncate(size);
  for (let k = 0; k < 5; k++) {
    await file.seek(Math.floor((size / 5) * k), Deno.SeekMode.Start);
    await file.write(xorshiftBytes(16 * MiB, 0xabc + k));
  }
}

export async function benchMemory(bench: Bench) {
  const cases: [string, number, boolean][] = [
    ["64 MiB", 64 * MiB, false],
    ["256 MiB", 256 * MiB, false],
    ["1 GiB", 1024 * MiB, false],
    ["4 GiB sparse", 4096 * MiB, true],
  ];
  for (const [name, size, sparse] of cases) {
    const dir = `${bench.dir}/memory`;
    await Deno.mkdir(dir, { recursive: true });
    try {
      const blob = `${dir}/blob`;
      if (sparse) await sparseBlob(blob, size);
      else await randomBlob(blob, size);
      await bench.measure("casync", ["make", `--store=${dir}/store`, `${dir}/blob.caibx`, blob]);
      const out = `${dir}/out`;
      await bench.race(
        `memory: extract ${name}`,
        [ours(["extract", "-s", `${dir}/store`, `${dir}/blob.caibx`, out])],
        () => Deno.remove(out).catch(() => {}),
        { bytes: size },
      );
      await bench.race(
        `memory: make ${name}`,
        [ours(["make", "-s", `${dir}/ours`, `${dir}/ours.caibx`, blob])],
        () => Deno.remove(`${dir}/ours`, { recursive: true }).catch(() => {}),
        { bytes: size },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
}
