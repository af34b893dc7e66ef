/**
 * The S3 store against a real Ceph cluster (radosgw, real SigV4) started once
 * for this file: the conformance suite (compressed and uncompressed), make and
 * extract of a 64 MiB blob through the CLI with the index in the bucket too,
 * casync reading the same chunk files, Go desync in both directions and with
 * the same config file, verify/prune/info over paginated listings, a failover
 * group whose first member is down, and a wrong secret.
 */
import { AwsClient } from "aws4fetch";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { S3_ENV } from "../../scripts/permissions.ts";
import { DEFAULT_HTTP_OPTIONS } from "../../src/util/http_client.ts";
import { S3Store } from "../../src/store/s3.ts";
import { S3Client } from "../../src/store/s3_client.ts";
import { parseS3Location } from "../../src/store/s3_location.ts";
import { chunkKey } from "../../src/store/settings.ts";
import {
  mustRun,
  pseudoRandomFast,
  removeDir,
  runCli,
  runTool,
  sha256sum,
  tempDir,
} from "../helpers.ts";
import { storeConformance } from "../store/conformance.ts";
import { CASYNC_MISSING } from "./casync_fixture.ts";
import {
  CEPH_ACCESS_KEY,
  CEPH_MISSING,
  CEPH_SECRET_KEY,
  type CephPeer,
  sharedCeph,
  stopSharedCephAfterAll,
} from "./ceph.ts";
import { freePort, GO_DESYNC, GO_MISSING } from "./peers.ts";

export const S3_FLAGS = [
  "--allow-read",
  "--allow-write",
  "--allow-net=127.0.0.1",
  `--allow-env=${S3_ENV.join(",")}`,
];

const settings = (uncompressed: boolean) => ({
  http: { ...DEFAULT_HTTP_OPTIONS, errorRetry: 0 },
  uncompressed,
});
const auth = {
  accessKeyId: CEPH_ACCESS_KEY,
  secretAccessKey: CEPH_SECRET_KEY,
  region: "us-east-1",
};

/** Signed requests of the test's own, to put bytes behind the store's back. */
function rawClient() {
  return new AwsClient({
    accessKeyId: CEPH_ACCESS_KEY,
    secretAccessKey: CEPH_SECRET_KEY,
    service: "s3",
    region: "us-east-1",
    retries: 0,
  });
}

for (const uncompressed of [false, true]) {
  storeConformance(
    `s3 store on Ceph${uncompressed ? " (uncompressed)" : ""}`,
    async (codec, digest) => {
      const ceph = await sharedCeph();
      const bucket = await ceph.freshBucket();
      const location = `${ceph.s3}/${bucket}/store`;
      const store = new S3Store(location, {
        codec,
        digests: [digest],
        settings: settings(uncompressed),
        auth,
      });
      const aws = rawClient();
      return {
        store,
        seed: (chunk) => store.storeChunk(chunk),
        async corrupt(id) {
          const url = `${ceph.endpoint}/${bucket}/store/${chunkKey(id, uncompressed)}`;
          const response = await aws.fetch(url, { method: "PUT", body: new Uint8Array([9, 9, 9]) });
          await response.body?.cancel();
          assertEquals(response.status, 200);
        },
        cleanup: () => Promise.resolve(),
      };
    },
    { ignore: CEPH_MISSING, writable: true, prunable: true },
  );
}

/** Copies the objects under `prefix` byte for byte into a local directory. */
async function copyOut(ceph: CephPeer, bucket: string, prefix: string, dir: string) {
  const client = new S3Client("copy", parseS3Location(`${ceph.s3}/${bucket}`), auth, {
    ...DEFAULT_HTTP_OPTIONS,
  });
  try {
    for await (const key of client.listKeys(prefix)) {
      const path = `${dir}/${key.slice(prefix.length)}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeFile(path, (await client.getObject(key, key, undefined, 64 << 20))!);
    }
  } finally {
    client.close();
  }
}

async function withCeph(
  t: Deno.TestContext,
  fn: (ceph: CephPeer, dir: string, bucket: string) => Promise<void>,
) {
  const ceph = await sharedCeph();
  const dir = await tempDir(t);
  try {
    await fn(ceph, dir, await ceph.freshBucket());
  } finally {
    await removeDir(dir);
  }
}

Deno.test({
  name:
    "s3: make into Ceph, extract back 64 MiB; index identical to casync's; casync reads the chunks",
  ignore: Boolean(CEPH_MISSING || CASYNC_MISSING),
  sanitizeResources: false,
  async fn(t) {
    await withCeph(t, async (ceph, dir, bucket) => {
      const blob = `${dir}/blob`;
      await Deno.writeFile(blob, pseudoRandomFast(64 << 20, 11));
      const store = `${ceph.s3}/${bucket}/store`;
      const index = `${ceph.s3}/${bucket}/indexes/blob.caibx`;
      const made = await runCli(["make", "-s", store, index, blob], S3_FLAGS, { env: ceph.env });
      assertEquals(made.code, 0, made.stderr);

      const extracted = await runCli(["extract", "-s", store, index, `${dir}/out`], S3_FLAGS, {
        env: ceph.env,
      });
      assertEquals(extracted.code, 0, extracted.stderr);
      assertEquals(await sha256sum(`${dir}/out`), await sha256sum(blob));

      // tar -i's index (from a table that grows in place) goes into the bucket as written locally.
      await Deno.mkdir(`${dir}/tree`);
      await Deno.copyFile(blob, `${dir}/tree/blob`);
      const tar = (index: string) =>
        runCli(["tar", "-i", index, `${dir}/tree`], S3_FLAGS, { env: ceph.env });
      const tarred = await tar(`${ceph.s3}/${bucket}/indexes/t.caidx`);
      assertEquals(tarred.code, 0, tarred.stderr);
      assertEquals((await tar(`${dir}/t.caidx`)).code, 0);

      // casync's own index of the blob matches the one we put into the bucket.
      await mustRun("casync", ["make", `--store=${dir}/casync-store`, `${dir}/casync.caibx`, blob]);
      await copyOut(ceph, bucket, "", `${dir}/copy`);
      assertEquals(
        await Deno.readFile(`${dir}/copy/indexes/t.caidx`),
        await Deno.readFile(`${dir}/t.caidx`),
      );
      const ours = await Deno.readFile(`${dir}/copy/indexes/blob.caibx`);
      const theirs = await Deno.readFile(`${dir}/casync.caibx`);
      assertEquals(ours.length, theirs.length);
      assert(ours.every((byte, i) => byte === theirs[i]), "index differs from casync's");

      // casync extracts from the bucket's chunk files, copied out byte for byte.
      await mustRun("casync", [
        "extract",
        `--store=${dir}/copy/store`,
        `${dir}/copy/indexes/blob.caibx`,
        `${dir}/casync-out`,
      ]);
      assertEquals(await sha256sum(`${dir}/casync-out`), await sha256sum(blob));
    });
  },
});

Deno.test({
  name: "s3: verify, verify -r, info and prune over paginated listings (>1000 chunks)",
  ignore: Boolean(CEPH_MISSING),
  sanitizeResources: false,
  async fn(t) {
    await withCeph(t, async (ceph, dir, bucket) => {
      // Small chunks: 2 MiB at 1 KiB average gives ~2000 chunks, two listing pages.
      await Deno.writeFile(`${dir}/a`, pseudoRandomFast(2 << 20, 21));
      await Deno.writeFile(`${dir}/b`, pseudoRandomFast(256 << 10, 22));
      const store = `${ceph.s3}/${bucket}/s`;
      const cli = (...args: string[]) => runCli(args, S3_FLAGS, { env: ceph.env });
      for (const name of ["a", "b"]) {
        const made = await cli(
          "make",
          "-m",
          "1:1:4",
          "-s",
          store,
          `${dir}/${name}.caibx`,
          `${dir}/${name}`,
        );
        assertEquals(made.code, 0, made.stderr);
      }
      const ids = (await cli("list-chunks", `${dir}/a.caibx`)).stdout.trim().split("\n");
      const idsB = (await cli("list-chunks", `${dir}/b.caibx`)).stdout.trim().split("\n");
      const unique = new Set([...ids, ...idsB]).size;
      assert(unique > 1000, `only ${unique} chunks: listing would not page`);

      const info = await cli("info", "--format", "json", "-s", store, `${dir}/a.caibx`);
      assertEquals(info.code, 0, info.stderr);
      const counts = JSON.parse(info.stdout); // Go desync's keys
      assertEquals(counts["in-store"], counts.unique);

      const verified = await cli("verify", "-s", store);
      assertEquals(verified.code, 0, verified.stderr);

      // Damage one chunk behind the store's back: verify finds it, -r removes it.
      const bad = ids[5];
      const aws = rawClient();
      const put = await aws.fetch(`${ceph.endpoint}/${bucket}/s/${chunkKey(bad, false)}`, {
        method: "PUT",
        body: new Uint8Array([1, 2, 3]),
      });
      await put.body?.cancel();
      const found = await cli("verify", "-s", store);
      assertEquals(found.code, 1);
      assertMatch(found.stdout, new RegExp(`chunk ${bad} in store .* is invalid`));
      assertMatch(found.stderr, new RegExp(`1 of ${unique} chunks invalid`));
      const repaired = await cli("verify", "-r", "-s", store);
      assertEquals(repaired.code, 1);
      assertMatch(repaired.stderr, /1 removed/);
      assertEquals((await cli("verify", "-s", store)).code, 0);

      // prune with only b's index leaves exactly b's chunks.
      const pruned = await cli("prune", "-y", "-s", store, `${dir}/b.caibx`);
      assertEquals(pruned.code, 0, pruned.stderr);
      const left = new Set<string>();
      const client = new S3Client(
        "list",
        parseS3Location(`${ceph.s3}/${bucket}`),
        auth,
        DEFAULT_HTTP_OPTIONS,
      );
      for await (const key of client.listKeys("s/")) left.add(key.split("/").pop()!.slice(0, 64));
      client.close();
      assertEquals([...left].sort(), [...new Set(idsB)].sort());
    });
  },
});

Deno.test({
  name: "s3: Go desync extracts what we made, we extract what it made, both under one config file",
  ignore: Boolean(CEPH_MISSING || GO_MISSING),
  sanitizeResources: false,
  async fn(t) {
    await withCeph(t, async (ceph, dir, bucket) => {
      await Deno.writeFile(`${dir}/ours`, pseudoRandomFast(8 << 20, 31));
      await Deno.writeFile(`${dir}/theirs`, pseudoRandomFast(8 << 20, 32));
      // Credentials only in the config file; one store uncompressed by a glob.
      const config = `${dir}/config.json`;
      await Deno.writeTextFile(
        config,
        JSON.stringify({
          "s3-credentials": {
            [ceph.endpoint]: { "access-key": CEPH_ACCESS_KEY, "secret-key": CEPH_SECRET_KEY },
          },
          "store-options": { [`${ceph.s3}/${bucket}/plain-*`]: { uncompressed: true } },
        }),
      );
      const env = { S3_ACCESS_KEY: "", S3_SECRET_KEY: "", AWS_ACCESS_KEY_ID: "" };
      const ours = (...args: string[]) => runCli(["--config", config, ...args], S3_FLAGS, { env });
      const go = (...args: string[]) => runTool(GO_DESYNC, ["--config", config, ...args], { env });

      for (const kind of ["zstd", "plain-x"]) {
        const store = `${ceph.s3}/${bucket}/${kind}`;
        const ourIndex = `${ceph.s3}/${bucket}/${kind}-ours.caibx`;
        const goIndex = `${ceph.s3}/${bucket}/${kind}-go.caibx`;
        const made = await ours("make", "-s", store, ourIndex, `${dir}/ours`);
        assertEquals(made.code, 0, made.stderr);
        const goMade = await go("make", "-s", store, goIndex, `${dir}/theirs`);
        assertEquals(goMade.code, 0, goMade.stderr);

        const goOut = await go("extract", "-s", store, ourIndex, `${dir}/${kind}-go-out`);
        assertEquals(goOut.code, 0, goOut.stderr);
        assertEquals(await sha256sum(`${dir}/${kind}-go-out`), await sha256sum(`${dir}/ours`));
        const ourOut = await ours("extract", "-s", store, goIndex, `${dir}/${kind}-our-out`);
        assertEquals(ourOut.code, 0, ourOut.stderr);
        assertEquals(await sha256sum(`${dir}/${kind}-our-out`), await sha256sum(`${dir}/theirs`));
      }
      // The uncompressed store holds bare `<id>` objects only, the other `.cacnk` only.
      await copyOut(ceph, bucket, "", `${dir}/copy`);
      const names = (sub: string) =>
        [...Deno.readDirSync(`${dir}/copy/${sub}`)].flatMap((prefix) =>
          [...Deno.readDirSync(`${dir}/copy/${sub}/${prefix.name}`)].map((file) => file.name)
        );
      assert(names("plain-x").every((name) => /^[0-9a-f]{64}$/.test(name)));
      assert(names("zstd").every((name) => /^[0-9a-f]{64}\.cacnk$/.test(name)));
      // Both tools print the configuration the same way.
      const ourConfig = await ours("config");
      const goConfig = await go("config");
      assertEquals(ourConfig.code, 0, ourConfig.stderr);
      assertEquals(ourConfig.stdout.trim(), (goConfig.stdout + goConfig.stderr).trim());
    });
  },
});

Deno.test({
  name:
    "s3: a failover group whose first member is down still extracts; a wrong secret fails clearly",
  ignore: Boolean(CEPH_MISSING),
  sanitizeResources: false,
  async fn(t) {
    await withCeph(t, async (ceph, dir, bucket) => {
      await Deno.writeFile(`${dir}/blob`, pseudoRandomFast(4 << 20, 41));
      const store = `${ceph.s3}/${bucket}/store`;
      const made = await runCli(
        ["make", "-s", store, `${dir}/blob.caibx`, `${dir}/blob`],
        S3_FLAGS,
        {
          env: ceph.env,
        },
      );
      assertEquals(made.code, 0, made.stderr);

      const down = `s3+http://127.0.0.1:${freePort()}/${bucket}/store`;
      const group = await runCli(
        ["-e", "0", "extract", "-s", `${down}|${store}`, `${dir}/blob.caibx`, `${dir}/out`],
        S3_FLAGS,
        { env: ceph.env },
      );
      assertEquals(group.code, 0, group.stderr);
      assertEquals(await sha256sum(`${dir}/out`), await sha256sum(`${dir}/blob`));

      const wrong = await runCli(
        ["extract", "-s", store, `${dir}/blob.caibx`, `${dir}/wrong`],
        S3_FLAGS,
        { env: { ...ceph.env, S3_SECRET_KEY: "not-the-secret" } },
      );
      assertEquals(wrong.code, 1);
      const lines = wrong.stderr.trim().split("\n");
      assertEquals(lines.length, 1, wrong.stderr);
      assertMatch(lines[0], /^desync: store s3\+http:\/\/127\.0\.0\.1:\d+\/bucket-[^ ]+\/store: /);
      assertMatch(lines[0], /403 SignatureDoesNotMatch: the S3 credentials were refused/);
    });
  },
});

Deno.test({
  name: "s3: chop and cache write into S3, and an S3 store can be extract's cache",
  ignore: Boolean(CEPH_MISSING),
  sanitizeResources: false,
  async fn(t) {
    await withCeph(t, async (ceph, dir, bucket) => {
      await Deno.writeFile(`${dir}/blob`, pseudoRandomFast(2 << 20, 91));
      const cli = (...args: string[]) => runCli(args, S3_FLAGS, { env: ceph.env });
      const index = `${dir}/blob.caibx`;
      assertEquals((await cli("make", "-s", `${dir}/local`, index, `${dir}/blob`)).code, 0);
      const want = await sha256sum(`${dir}/blob`);
      const steps = [
        ["chop", "-s", `${ceph.s3}/${bucket}/chopped`, index, `${dir}/blob`],
        ["cache", "-s", `${dir}/local`, "-c", `${ceph.s3}/${bucket}/cached`, index],
        ["extract", "-s", `${dir}/local`, "-c", `${ceph.s3}/${bucket}/cache2`, index, `${dir}/o1`],
      ];
      for (const step of steps) {
        const result = await cli(...step);
        assertEquals(result.code, 0, `${step[0]}: ${result.stderr}`);
      }
      for (const prefix of ["chopped", "cached", "cache2"]) {
        const out = `${dir}/${prefix}.out`;
        const result = await cli("extract", "-s", `${ceph.s3}/${bucket}/${prefix}`, index, out);
        assertEquals(result.code, 0, `${prefix}: ${result.stderr}`);
        assertEquals(await sha256sum(out), want);
      }
    });
  },
});

stopSharedCephAfterAll(CEPH_MISSING);
