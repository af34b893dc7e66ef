/**
 * tar, untar, mtree and make on archives against the real casync: for the
 * feature set both support, our archives and indexes are casync's byte for
 * byte; casync extracts ours and we extract casync's, compared with casync's
 * own mtree listing and with diff -r.
 */
import { assert, assertEquals } from "../assert.ts";
import { CASYNC_MISSING, storeIds } from "./casync_fixture.ts";
import {
  casyncMtree,
  desyncOk,
  DIFF_MISSING,
  diffTrees,
  treeTests,
  xattrListing,
} from "./catar_tree.ts";
import { CASYNC_EQUIVALENT_OPTIONS } from "../../src/ops/tar.ts";
import { COMMAND_PERMISSIONS } from "../../scripts/permissions.ts";
import { mustRun } from "../helpers.ts";

const TAR = COMMAND_PERMISSIONS.tar;
const UNTAR = COMMAND_PERMISSIONS.untar;
const MTREE = COMMAND_PERMISSIONS.mtree;
const IGNORE = CASYNC_MISSING || DIFF_MISSING;

/** Both trees list the same under casync mtree, and diff -r finds nothing. */
async function assertSameTree(expected: string, actual: string) {
  assertEquals(await casyncMtree(actual), await casyncMtree(expected), `${actual} vs ${expected}`);
  assertEquals(await diffTrees(expected, actual), []);
  assertEquals(xattrListing(actual), xattrListing(expected));
}

const interop = treeTests("catar casync interop", IGNORE);

/** Feature-set variants: our options and casync's equivalent ones. */
const VARIANTS: { name: string; ours: string[]; casync: string[] }[] = [
  { name: "full", ours: [], casync: CASYNC_EQUIVALENT_OPTIONS },
  {
    name: "no owners",
    ours: ["--no-same-owner"],
    casync: CASYNC_EQUIVALENT_OPTIONS.filter((o) => !/uids|user-names/.test(o)),
  },
  {
    name: "sha256",
    ours: ["--digest", "sha256"],
    casync: [...CASYNC_EQUIVALENT_OPTIONS, "--digest=sha256"],
  },
];

interop("tar writes casync's catar byte for byte, for each feature set", async (dir, tree) => {
  for (const variant of VARIANTS) {
    const theirs = `${dir}/theirs.catar`;
    const mine = `${dir}/ours.catar`;
    await mustRun("casync", ["make", ...variant.casync, theirs, tree]);
    await desyncOk(["tar", ...variant.ours, mine, tree], TAR);
    assertEquals(await Deno.readFile(mine), await Deno.readFile(theirs), variant.name);
  }
});

const bytes = (sizes: string) => sizes.split(":").map((size) => `${size}B`).join(":");

interop("tar -i writes casync's .caidx and the same chunks", async (dir, tree) => {
  for (const sizes of ["16384:65536:262144", "4096:16384:65536"]) {
    const theirs = `${dir}/theirs-${sizes}`;
    const mine = `${dir}/ours-${sizes}`;
    await mustRun("casync", [
      "make",
      ...CASYNC_EQUIVALENT_OPTIONS,
      `--store=${theirs}.store`,
      `--chunk-size=${sizes}`,
      `${theirs}.caidx`,
      tree,
    ]);
    await desyncOk(
      // casync's sizes are bytes; ours take a B suffix for that (bare numbers are KiB, as in Go).
      ["tar", "-i", "-s", `${mine}.store`, "--chunk-size", bytes(sizes), `${mine}.caidx`, tree],
      TAR,
    );
    assertEquals(await Deno.readFile(`${mine}.caidx`), await Deno.readFile(`${theirs}.caidx`));
    assertEquals(storeIds(`${mine}.store`), storeIds(`${theirs}.store`));
  }
});

interop("casync extracts what tar and tar -i wrote", async (dir, tree) => {
  await desyncOk(["tar", `${dir}/ours.catar`, tree], TAR);
  await desyncOk(["tar", "-i", "-s", `${dir}/store`, `${dir}/ours.caidx`, tree], TAR);
  await mustRun("casync", ["extract", `${dir}/ours.catar`, `${dir}/from-catar`]);
  await assertSameTree(tree, `${dir}/from-catar`);
  await mustRun("casync", [
    "extract",
    `--store=${dir}/store`,
    `${dir}/ours.caidx`,
    `${dir}/from-caidx`,
  ]);
  await assertSameTree(tree, `${dir}/from-caidx`);
});

interop("untar restores casync's catar and .caidx (through a cache)", async (dir, tree) => {
  await mustRun("casync", ["make", `${dir}/theirs.catar`, tree]);
  await mustRun("casync", ["make", `--store=${dir}/store`, `${dir}/theirs.caidx`, tree]);
  await desyncOk(["untar", `${dir}/theirs.catar`, `${dir}/from-catar`], UNTAR);
  await assertSameTree(tree, `${dir}/from-catar`);
  await desyncOk(
    ["untar", "-i", "-s", `${dir}/store`, "-c", `${dir}/cache`, `${dir}/theirs.caidx`, `${dir}/x`],
    UNTAR,
  );
  await assertSameTree(tree, `${dir}/x`);
  assertEquals(storeIds(`${dir}/cache`), storeIds(`${dir}/store`));
  // Into an existing directory holding other things: they stay, the archive's entries merge.
  await Deno.mkdir(`${dir}/existing`);
  await Deno.writeTextFile(`${dir}/existing/keep`, "mine");
  await desyncOk(["untar", `${dir}/theirs.catar`, `${dir}/existing`], UNTAR);
  assertEquals(await Deno.readTextFile(`${dir}/existing/keep`), "mine");
  await Deno.remove(`${dir}/existing/keep`);
  assertEquals(await diffTrees(tree, `${dir}/existing`), []);
});

interop("mtree lists what casync's mtree lists", async (dir, tree) => {
  await mustRun("casync", ["make", `--store=${dir}/store`, `${dir}/theirs.caidx`, tree]);
  await mustRun("casync", ["make", `${dir}/theirs.catar`, tree]);
  const mine = (await desyncOk(["mtree", `${dir}/theirs.catar`], MTREE)).stdout;
  const fromIndex = await desyncOk(
    ["mtree", "-i", "-s", `${dir}/store`, `${dir}/theirs.caidx`],
    MTREE,
  );
  assertEquals(fromIndex.stdout, mine);
  // casync adds keywords we do not print (flags, uname for root): compare the ones both print.
  const keywords = [
    "type",
    "mode",
    "uid",
    "gid",
    "size",
    "time",
    "link",
    "device",
    "sha512256digest",
  ];
  const normalize = (text: string) =>
    text.split("\n").filter((line) => line && !line.startsWith("#")).map((line) => {
      const [path, ...fields] = line.split(" ");
      const kept = fields.filter((f) => keywords.includes(f.split("=")[0])).sort();
      return [path, ...kept].join(" ");
    });
  const theirs = normalize(await casyncMtree(`${dir}/theirs.catar`));
  assertEquals(normalize(mine), theirs);
  assert(theirs.some((line) => line.includes("sha512256digest=")));
});

interop("make on casync's catar writes casync's .caidx", async (dir, tree) => {
  await mustRun("casync", ["make", `${dir}/theirs.catar`, tree]);
  await mustRun("casync", ["make", `--store=${dir}/store`, `${dir}/theirs.caidx`, tree]);
  await desyncOk(
    ["make", "-s", `${dir}/ours.store`, `${dir}/ours.caidx`, `${dir}/theirs.catar`],
    COMMAND_PERMISSIONS.make,
  );
  assertEquals(
    await Deno.readFile(`${dir}/ours.caidx`),
    await Deno.readFile(`${dir}/theirs.caidx`),
  );
  await mustRun("casync", [
    "extract",
    `--store=${dir}/ours.store`,
    `${dir}/ours.caidx`,
    `${dir}/out`,
  ]);
  await assertSameTree(tree, `${dir}/out`);
});
