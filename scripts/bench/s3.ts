/**
 * Object storage: extract from S3 on a throwaway Ceph cluster (radosgw) and,
 * for scale, from nginx serving the same chunks, at -n 10 and -n 32; Go
 * desync reads the same bucket where it is present.
 */
import { startNginx } from "../../tests/interop/peers.ts";
import { CEPH_MISSING, startCeph } from "../../tests/interop/ceph.ts";
import { type Bench, type Contender, GO_DESYNC, ours } from "./harness.ts";
import { makeBlob } from "./blobs.ts";

export async function benchS3(bench: Bench, sizeMiB: number) {
  if (CEPH_MISSING) throw new Error(`--only s3: ${CEPH_MISSING}`);
  const { dir } = bench;
  const blob = `${dir}/s3-blob`;
  const index = `${dir}/s3-blob.caibx`;
  await makeBlob(blob, sizeMiB, "random");
  await bench.measure("casync", ["make", `--store=${dir}/store`, index, blob]);
  const ceph = await startCeph();
  const nginx = await startNginx(dir);
  const out = `${dir}/out`;
  const removeOut = () => Deno.remove(out).catch(() => {});
  try {
    const bucket = await ceph.freshBucket();
    const store = `${ceph.s3}/${bucket}/store`;
    const make = ours(["make", "-s", store, `${dir}/s3.caibx`, blob]);
    await bench.measure(make.cmd, make.args, ceph.env);
    for (const n of ["10", "32"]) {
      const extract = (location: string) => ["extract", "-n", n, "-s", location, index, out];
      const fromS3: Contender[] = [ours(extract(store))];
      if (GO_DESYNC) fromS3.push({ tool: "desync-go", cmd: GO_DESYNC, args: extract(store) });
      const bytes = sizeMiB << 20;
      await bench.race(`extract s3 (Ceph) -n ${n}`, fromS3, removeOut, { bytes, env: ceph.env });
      await bench.race(
        `extract http (nginx) -n ${n}`,
        [ours(extract(`${nginx.url}/store/`))],
        removeOut,
        {
          bytes,
        },
      );
    }
  } finally {
    await nginx.stop();
    await ceph.stop();
  }
}
