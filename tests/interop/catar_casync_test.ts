/**
 * tar, untar, mtree and make on archives against the real casync, with and
 * without --allow-ffi: for the feature set each mode supports, our archives and
 * indexes are casync's byte for byte; casync extracts ours and we extract
 * casync's, compared with casync's own mtree listing and with diff -r.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { CASYNC_MISSING, storeIds } from "./casync_fixture.ts";
import {
  ARCHIVE_MODES,
  casyncMtree,
  desyncOk,
  DIFF_MISSING,
  diffTrees,
  PLAIN_TREE,
  treeTests,
  WITH_FFI,
  WITHOUT_FFI,
  xattrListing,
} from "./catar_tree.ts";
import { casyncMakeOptions, OWNER_FEATURES, tarFeatures } from "../../src/ops/tar.ts";
import { SHA512_256 } from "../../src/format/catar.ts";
import { COMMAND_PERMISSIONS } from "../../scripts/permissions.ts";
import { mustRun } from "../helpers.ts";

const MTREE = COMMAND_PERMISSIONS.mtree;
const IGNORE = CASYNC_MISSING || DIFF_MISSING;

/** How far times are kept: exactly, or cut to milliseconds or seconds. */
type TimeKept = "ns" | "ms" | "s";

/** casync's mtree listing with every time cut to `kept`. */
async function mtreeAt(path: string, kept: TimeKept): Promise<string> {
  const listing = await casyncMtree(path);
  if (kept === "ns") return listing;
  const digits = kept === "ms" ? 3 : 0;
  return listing.replace(
    /time=(\d+)\.(\d{9})/g,
    (_, s, ns) => `time=${s}.${ns.slice(0, digits).padEnd(9, "0")}`,
  );
}

/**
 * `actual` lists under casync's mtree as `expected` does with its times cut to
 * `kept` (and no finer digits are left in `actual`), diff -r finds nothing, and
 * the extended attributes are the same (or absent where not archived).
 */
async function assertSameTree(
  expected: string,
  actual: string,
  kept: TimeKept = "ns",
  xattrs = true,
) {
  const got = await casyncMtree(actual);
  assertEquals(got, await mtreeAt(expected, kept), `${actual} vs ${expected}`);
  assertEquals(got, await mtreeAt(actual, kept), "no finer time digits than kept");
  assertEquals(await diffTrees(expected, actual), []);
  assertEquals(xattrListing(actual), xattrs ? xattrListing(expected) : []);
}

const interop = treeTests("catar casync interop", IGNORE);

/** casync's catar and .caidx (its chunks in `dir`/store) of `tree`, with its default feature set. */
async function casyncArchives(dir: string, tree: string) {
  await mustRun("casync", ["make", `${dir}/theirs.catar`, tree]);
  await mustRun("casync", ["make", `--store=${dir}/store`, `${dir}/theirs.caidx`, tree]);
}

/**
 * The feature sets: with FFI casync's full set of what we read; without it,
 * times in whole seconds (Deno's stat has milliseconds) and no attributes.
 */
const CASYNC_OPTIONS = {
  [WITH_FFI.name]: [
    "--with=32bit-uids",
    "--with=user-names",
    "--with=nsec-time",
    "--with=permissions",
    "--with=symlinks",
    "--with=device-nodes",
    "--with=fifos",
    "--with=sockets",
    "--with=xattrs",
    "--with=fcaps",
    "--exclude-nodump=no",
    "--exclude-file=no",
  ],
  [WITHOUT_FFI.name]: [
    "--with=32bit-uids",
    "--with=user-names",
    "--with=sec-time",
    "--with=permissions",
    "--with=symlinks",
    "--with=device-nodes",
    "--with=fifos",
    "--with=sockets",
    "--exclude-nodump=no",
    "--exclude-file=no",
  ],
};

Deno.test("catar casync interop: casyncMakeOptions names each mode's feature set", () => {
  for (const mode of ARCHIVE_MODES) {
    assertEquals(
      casyncMakeOptions(tarFeatures(mode.fs) | SHA512_256).sort(),
      [...CASYNC_OPTIONS[mode.name]].sort(),
      mode.name,
    );
  }
});

/** Feature-set variants: our options and casync's equivalent ones. */
function variants(casync: string[]): { name: string; ours: string[]; casync: string[] }[] {
  return [
    { name: "full", ours: [], casync },
    {
      name: "no owners",
      ours: ["--no-same-owner"],
      casync: casync.filter((o) => !/uids|user-names/.test(o)),
    },
    { name: "sha256", ours: ["--digest", "sha256"], casync: [...casync, "--digest=sha256"] },
  ];
}

interop("tar writes casync's catar byte for byte, for each feature set", async (dir, tree) => {
  for (const mode of ARCHIVE_MODES) {
    for (const variant of variants(CASYNC_OPTIONS[mode.name])) {
      const theirs = `${dir}/theirs.catar`;
      const mine = `${dir}/ours.catar`;
      await mustRun("casync", ["make", ...variant.casync, theirs, tree]);
      await desyncOk(["tar", ...variant.ours, mine, tree], mode.tar);
      const name = `${mode.name}, ${variant.name}`;
      assertEquals(await Deno.readFile(mine), await Deno.readFile(theirs), name);
      // The flags in the root entry are what casync wrote for these options.
      const flags = new DataView((await Deno.readFile(mine)).buffer).getBigUint64(16, true);
      const owners = variant.name === "no owners" ? OWNER_FEATURES : 0n;
      const digest = variant.name === "sha256" ? 0n : SHA512_256;
      assertEquals(flags, (tarFeatures(mode.fs) & ~owners) | digest, name);
    }
  }
});

const bytes = (sizes: string) => sizes.split(":").map((size) => `${size}B`).join(":");

interop("tar -i writes casync's .caidx and the same chunks", async (dir, tree) => {
  // A file twice: its chunks repeat, each stored and listed as casync does.
  await Deno.copyFile(`${tree}/large`, `${tree}/large-again`);
  const cases = [
    { mode: WITH_FFI, sizes: "16384:65536:262144" },
    { mode: WITH_FFI, sizes: "4096:16384:65536" },
    { mode: WITHOUT_FFI, sizes: "16384:65536:262144" },
  ];
  for (const { mode, sizes } of cases) {
    const theirs = `${dir}/theirs-${mode === WITH_FFI}-${sizes}`;
    const mine = `${dir}/ours-${mode === WITH_FFI}-${sizes}`;
    await mustRun("casync", [
      "make",
      ...CASYNC_OPTIONS[mode.name],
      `--store=${theirs}.store`,
      `--chunk-size=${sizes}`,
      `${theirs}.caidx`,
      tree,
    ]);
    await desyncOk(
      // casync's sizes are bytes; ours take a B suffix for that (bare numbers are KiB, as in Go).
      ["tar", "-i", "-s", `${mine}.store`, "--chunk-size", bytes(sizes), `${mine}.caidx`, tree],
      mode.tar,
    );
    const name = `${mode.name}, ${sizes}`;
    assertEquals(
      await Deno.readFile(`${mine}.caidx`),
      await Deno.readFile(`${theirs}.caidx`),
      name,
    );
    assertEquals(storeIds(`${mine}.store`), storeIds(`${theirs}.store`), name);
    // With no store the lanes only hash the chunks: the index is the same.
    await desyncOk(
      ["tar", "-i", "--chunk-size", bytes(sizes), `${mine}-hashed.caidx`, tree],
      mode.tar,
    );
    assertEquals(
      await Deno.readFile(`${mine}-hashed.caidx`),
      await Deno.readFile(`${theirs}.caidx`),
      `${name}, no store`,
    );
  }
});

interop("casync extracts what tar and tar -i wrote", async (dir, tree) => {
  for (const mode of ARCHIVE_MODES) {
    const out = `${dir}/${mode === WITH_FFI ? "ffi" : "deno"}`;
    await desyncOk(["tar", `${out}.catar`, tree], mode.tar);
    await desyncOk(["tar", "-i", "-s", `${out}.store`, `${out}.caidx`, tree], mode.tar);
    // Without FFI the archive holds whole seconds and no extended attributes.
    const kept = mode === WITH_FFI ? "ns" : "s";
    await mustRun("casync", ["extract", `${out}.catar`, `${out}-from-catar`]);
    await assertSameTree(tree, `${out}-from-catar`, kept, mode === WITH_FFI);
    await mustRun("casync", [
      "extract",
      `--store=${out}.store`,
      `${out}.caidx`,
      `${out}-from-caidx`,
    ]);
    await assertSameTree(tree, `${out}-from-caidx`, kept, mode === WITH_FFI);
  }
});

interop(
  "untar with --allow-ffi restores casync's catar and .caidx (through a cache)",
  async (dir, tree) => {
    const UNTAR = WITH_FFI.untar;
    await casyncArchives(dir, tree);
    await desyncOk(["untar", `${dir}/theirs.catar`, `${dir}/from-catar`], UNTAR);
    await assertSameTree(tree, `${dir}/from-catar`);
    await desyncOk(
      [
        "untar",
        "-i",
        "-s",
        `${dir}/store`,
        "-c",
        `${dir}/cache`,
        `${dir}/theirs.caidx`,
        `${dir}/x`,
      ],
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
  },
);

treeTests("catar casync interop", IGNORE, PLAIN_TREE)(
  "untar without FFI restores casync's catar and .caidx, times to the millisecond",
  async (dir, tree) => {
    const UNTAR = WITHOUT_FFI.untar;
    await casyncArchives(dir, tree);
    await desyncOk(["untar", `${dir}/theirs.catar`, `${dir}/from-catar`], UNTAR);
    await assertSameTree(tree, `${dir}/from-catar`, "ms");
    await desyncOk(
      ["untar", "-i", "-s", `${dir}/store`, `${dir}/theirs.caidx`, `${dir}/from-caidx`],
      UNTAR,
    );
    await assertSameTree(tree, `${dir}/from-caidx`, "ms");
    // An archive in whole seconds comes back exactly, into an existing directory too.
    await mustRun("casync", ["make", ...CASYNC_OPTIONS[WITHOUT_FFI.name], `${dir}/s.catar`, tree]);
    await mustRun("casync", ["extract", `${dir}/s.catar`, `${dir}/casync-out`]);
    await Deno.mkdir(`${dir}/existing`);
    await desyncOk(["untar", `${dir}/s.catar`, `${dir}/existing`], UNTAR);
    assertEquals(await casyncMtree(`${dir}/existing`), await casyncMtree(`${dir}/casync-out`));
    assertMatch(await casyncMtree(`${dir}/existing`), /time=\d+\.000000000/);
    assert(!(await casyncMtree(`${dir}/existing`)).match(/time=\d+\.(?!000000000)/));
  },
);

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
