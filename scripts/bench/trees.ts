/**
 * Directory trees: tar -i and untar -i of 20 000 small files (0-8 KiB, in 200
 * directories) and four 32 MiB files, against casync (with the feature set we
 * record without FFI) and Go desync. Each unpacks casync's index from casync's store.
 */
import { xorshiftBytes } from "../pseudo_random.ts";
import { casyncMakeOptions, tarFeatures } from "../../src/ops/tar.ts";
import { SHA512_256 } from "../../src/format/catar.ts";
import { denoTreeFs } from "../../src/util/tree_fs.ts";
import { type Bench, type Contender, GO_DESYNC, ours, settle } from "./harness.ts";

export async function benchTrees(bench: Bench) {
  const { dir } = bench;
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
  const fresh = (...paths: string[]) => async () => {
    for (const path of paths) await bench.discard(path);
    if (GO_DESYNC) await Deno.mkdir(`${dir}/go-store`).catch(() => {}); // Go desync wants it
    await settle();
  };
  // We run with the binary's flags (no FFI): casync records the same feature set.
  const features = casyncMakeOptions(tarFeatures(denoTreeFs) | SHA512_256);
  const tar: Contender[] = [
    {
      tool: "casync",
      cmd: "casync",
      args: ["make", ...features, `--store=${dir}/c-store`, `${dir}/c.caidx`, tree],
    },
    ours(["tar", "-i", "-s", `${dir}/t-store`, `${dir}/t.caidx`, tree]),
  ];
  if (GO_DESYNC) {
    tar.push({
      tool: "desync-go",
      cmd: GO_DESYNC,
      args: ["tar", "-i", "-s", `${dir}/go-store`, `${dir}/go.caidx`, tree],
    });
  }
  await bench.race(
    "tar -i (fresh store)",
    tar,
    fresh(`${dir}/c-store`, `${dir}/t-store`, `${dir}/go-store`),
    { bytes },
  );
  // Every tool unpacks casync's index from casync's store.
  await bench.measure("casync", [
    "make",
    ...features,
    `--store=${dir}/c-store`,
    `${dir}/c.caidx`,
    tree,
  ]);
  const out = `${dir}/untarred`;
  const untar: Contender[] = [
    {
      tool: "casync",
      cmd: "casync",
      args: ["extract", `--store=${dir}/c-store`, `${dir}/c.caidx`, out],
    },
    ours(["untar", "-i", "-s", `${dir}/c-store`, `${dir}/c.caidx`, out]),
  ];
  if (GO_DESYNC) {
    untar.push({
      tool: "desync-go",
      cmd: GO_DESYNC,
      args: ["untar", "-i", "-s", `${dir}/c-store`, `${dir}/c.caidx`, out],
    });
  }
  await bench.race("untar -i (fresh dir)", untar, fresh(out), { bytes });
}
