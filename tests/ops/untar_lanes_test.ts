/**
 * untar with codec lanes: a new tree's small files are made by the lanes, the
 * rest (and every directory's metadata, after its files) by the main thread.
 * Expected values come from the archive's own description (the builder's
 * input), truncated to the millisecond as Deno sets times.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { DesyncError } from "../../src/errors.ts";
import { untar } from "../../src/ops/untar.ts";
import { CodecPool } from "../../src/chunk/codec_pool.ts";
import { type TreeFilesJob, writeTreeFiles } from "../../src/chunk/tree_files.ts";
import { statFile } from "../../src/util/posix.ts";
import { denoTreeFs } from "../../src/util/tree_fs.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { buildArchive, directory, file, type TestNode, wideTree } from "../format/catar_builder.ts";

/** Counts the batches of files the lanes are given; `redirect` moves where one is made. */
class CountingPool extends CodecPool {
  batches = 0;
  files = 0;
  redirect = (path: string) => path;
  override writeTreeFiles(job: TreeFilesJob) {
    this.batches++;
    this.files += job.paths.length;
    return super.writeTreeFiles({ ...job, paths: job.paths.map(this.redirect) });
  }
}

/**
 * A test with a temporary directory and a pool of `lanes` lanes that count
 * their batches (a CountingPool, or what `pool` makes).
 */
function lanesTest(
  name: string,
  fn: (dir: string, codec: CountingPool) => Promise<void>,
  lanes = 2,
  pool = (lanes: number, _dir: string) => new CountingPool(lanes),
) {
  Deno.test(`untar: ${name}`, async () => {
    const dir = await tempDir();
    const codec = pool(lanes, dir);
    try {
      await fn(dir, codec);
    } finally {
      codec.close();
      await removeDir(dir);
    }
  });
}

function feedOf(archive: Uint8Array, piece = 65536) {
  return async (push: (bytes: Uint8Array) => Promise<void>) => {
    for (let i = 0; i < archive.length; i += piece) await push(archive.slice(i, i + piece));
  };
}

const MS = 1_000_000n;

function bytesOf(seed: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** Every file's and directory's mode, time (to the ms) and content, as archived. */
function expected(node: TestNode, path: string, into: Map<string, string>) {
  const mtimeMs = (node.mtimeNs ?? 1_600_000_000_123_456_789n) / MS;
  const content = node.data ? `${node.data.length}:${node.data.reduce((a, b) => a + b, 0)}` : "";
  into.set(path, `${(node.mode & 0o7777).toString(8)} ${mtimeMs} ${content}`);
  for (const child of node.children ?? []) expected(child, `${path}/${child.name}`, into);
  return into;
}

function found(path: string, into: Map<string, string>) {
  const info = statFile(path);
  let content = "";
  if ((info.mode & 0o170000) === 0o100000) {
    const data = Deno.readFileSync(path);
    content = `${data.length}:${data.reduce((a, b) => a + b, 0)}`;
  }
  into.set(path, `${(info.mode & 0o7777).toString(8)} ${info.mtimeNs / MS} ${content}`);
  if ((info.mode & 0o170000) === 0o040000) {
    for (const entry of Deno.readDirSync(path)) found(`${path}/${entry.name}`, into);
  }
  return into;
}

/** A tree of many small files in nested directories, some read-only, with large files between. */
function tree(directories: number): TestNode {
  const dirs: TestNode[] = [];
  for (let d = 0; d < directories; d++) {
    const files: TestNode[] = [];
    for (let f = 0; f < 120; f++) {
      files.push({
        ...file(
          `f${String(f).padStart(3, "0")}`,
          bytesOf(d * 1000 + f, (d * 977 + f * 131) % 5000),
        ),
        mtimeNs: 1_500_000_000_000_000_000n + BigInt(d * 1000 + f) * 1_000_001n,
      });
    }
    // Larger than the lanes take, and a mode the lanes do not give: made here, in between.
    files.splice(40, 0, file("f039-large", bytesOf(d, (1 << 20) + 17), 0o600));
    files.splice(80, 0, file("f078-setuid", "x", 0o4755));
    const nested = directory("inner", [file("deep", bytesOf(d + 50, 3000), 0o640)], 0o555);
    dirs.push({
      ...directory(`d${String(d).padStart(2, "0")}`, [...files, {
        ...nested,
        mtimeNs: 1_400_000_000_999_999_999n,
      }], 0o555),
      mtimeNs: 1_300_000_000_000_000_000n + BigInt(d),
    });
  }
  return { ...directory(undefined, dirs, 0o750), mtimeNs: 1_234_567_890_123_456_789n };
}

/** Unpacks the archive of `root` into `target` with Deno's file API and `codec`'s lanes. */
function untarTree(target: string, root: TestNode, codec: CodecPool, piece?: number) {
  return untar({
    target,
    source: "t.catar",
    feed: feedOf(buildArchive(root), piece),
    fs: denoTreeFs,
    lanes: () => codec,
  });
}

/** `target` holds `root`: the same entries with the same modes, times and contents. */
function assertAsArchived(root: TestNode, target: string) {
  const want = expected(root, target, new Map());
  const got = found(target, new Map());
  assertEquals(got.size, want.size);
  for (const [path, value] of want) assertEquals(got.get(path), value, path);
}

function unlock(path: string) {
  Deno.chmodSync(path, 0o755);
  for (const entry of Deno.readDirSync(path)) {
    if (entry.isDirectory) unlock(`${path}/${entry.name}`);
  }
}

lanesTest("lanes make a new tree's small files, as archived", async (dir, codec) => {
  const root = tree(6);
  const target = `${dir}/out`;
  await untarTree(target, root, codec);
  assertAsArchived(root, target);
  // 720 small files and the 6 nested ones by the lanes; the large and setuid ones here.
  // (Three batches: never more than the lanes hold, so no file is made here instead.)
  assertEquals(codec.files, 726);
  assertEquals(codec.batches, 3);
  unlock(target);
});

lanesTest(
  "with its lane busy, the main thread makes files too, as archived",
  async (dir, codec) => {
    const root = tree(24);
    const target = `${dir}/out`;
    await untarTree(target, root, codec, 1 << 20);
    assertAsArchived(root, target);
    // Pieces of 1 MiB: the lane's replies come in only between slices of one,
    // and while it holds two batches this thread makes the files it meets.
    assert(codec.files > 0 && codec.files < 24 * 121, `${codec.files} files in the lane`);
    unlock(target);
  },
  1,
);

lanesTest(
  "a file the lanes cannot make fails naming it, and no tree is left",
  async (dir, codec) => {
    const names = Array.from({ length: 50 }, (_, i) => `f${String(i).padStart(2, "0")}`);
    const root = directory(undefined, [
      directory("a", names.map((name) => file(name, "a"))),
      directory("b", [file("bad", "y"), file("ok", "x")]),
    ]);
    // The lane is sent to make it where it cannot (a directory that does not exist).
    codec.redirect = (path) => path.endsWith("/b/bad") ? `${dir}/nowhere/bad` : path;
    const error = await assertRejects(
      () =>
        untar({
          target: `${dir}/out`,
          source: "t.catar",
          feed: feedOf(buildArchive(root), 512),
          fs: denoTreeFs,
          lanes: () => codec,
        }),
      DesyncError,
    );
    assertEquals(error.message, `${dir}/out/b/bad: cannot create: no such file or directory`);
    assert(codec.files > 50);
    assertEquals(Array.from(Deno.readDirSync(dir)), []);
  },
);

/**
 * Unpacks `root`, whose last entry is a file of over 1 MiB, into `dir`/out;
 * returns what `path` (in the tree, under its temporary name) was before that
 * file's last MiB was pushed, with every directory ended (then `then` is called).
 */
async function statBeforeEnd(
  dir: string,
  root: TestNode,
  codec: CodecPool,
  path: string,
  then = () => {},
) {
  const archive = buildArchive(root);
  let early: Deno.FileInfo | undefined;
  const feed = async (push: (bytes: Uint8Array) => Promise<void>) => {
    const cut = archive.length - (1 << 20);
    await push(archive.slice(0, cut));
    const [temp] = [...Deno.readDirSync(dir)].map((entry) => `${dir}/${entry.name}`);
    early = Deno.statSync(`${temp}/${path}`);
    then();
    await push(archive.slice(cut));
  };
  await untar({
    target: `${dir}/out`,
    source: "t.catar",
    feed,
    fs: denoTreeFs,
    lanes: () => codec,
  });
  return early!;
}

lanesTest(
  "a directory with no file in the lanes gets its metadata at its end, not after batches begun before",
  async (dir, codec) => {
    // One small file, then 600 directories with none: were each to wait for
    // the batch holding the file, all would wait for the end of the archive
    // (the batch is never filled), each holding its node meanwhile.
    const dirs = Array.from({ length: 600 }, (_, i) => ({
      ...directory(`e${String(i).padStart(3, "0")}`, [], 0o555),
      mtimeNs: 1_300_000_000_000_000_000n + BigInt(i) * MS,
    }));
    const root = directory(undefined, [
      file("a", "small"),
      directory("d", dirs),
      file("z", bytesOf(7, 2 << 20)),
    ]);
    const early = await statBeforeEnd(dir, root, codec, "d/e599");
    assertEquals(early.mode! & 0o777, 0o555, "d/e599's mode was set only at the end");
    assertEquals(early.mtime!.getTime(), 1_300_000_000_599);
    assertAsArchived(root, `${dir}/out`);
    assertEquals(codec.files, 1);
    unlock(`${dir}/out`);
  },
);

/**
 * Makes each batch on this thread in a later task (or once `hold`'s release is
 * called), first checking that every directory above its files is still as
 * made (0700): none has been given its mode and time yet.
 */
class CheckingPool extends CountingPool {
  #gate?: Promise<void>;
  /** `root`: the directory the tree is made in (not checked). */
  constructor(lanes: number, readonly root: string) {
    super(lanes);
  }

  override writeTreeFiles(job: TreeFilesJob) {
    this.batches++;
    this.files += job.paths.length;
    const gate = this.#gate ?? new Promise<void>((resolve) => setTimeout(resolve, 0));
    return gate.then(() => {
      for (const path of job.paths) {
        for (
          let at = path.lastIndexOf("/");
          at > this.root.length;
          at = path.lastIndexOf("/", at - 1)
        ) {
          const above = path.slice(0, at);
          assertEquals(statFile(above).mode & 0o7777, 0o700, `${above} is done before ${path}`);
        }
      }
      return { data: job.data, failure: writeTreeFiles(job, () => false) };
    });
  }

  /** Holds the batches given from now on; returns what releases them. */
  hold(): () => void {
    let release!: () => void;
    this.#gate = new Promise((resolve) => release = resolve);
    return release;
  }
}

/** Its batches are made only when this thread next waits for something. */
const checkingPool = (lanes: number, dir: string) => new CheckingPool(lanes, dir);

lanesTest(
  "a directory's metadata waits for the lanes' files anywhere below it",
  async (dir, codec) => {
    // p and q hold no file of their own: their files are deeper, or in a
    // directory that ends with nothing after it.
    const leaf = (name: string) => directory(name, [file("f", name)], 0o555);
    const root = directory(undefined, [
      directory("p", [directory("q", [leaf("r"), directory("s", [], 0o500)], 0o555)], 0o500),
      directory("t", [leaf("u")], 0o555),
      file("z", bytesOf(3, (1 << 20) + 1)),
    ], 0o750);
    const target = `${dir}/out`;
    await untarTree(target, root, codec);
    assertEquals(codec.files, 2);
    assertAsArchived(root, target);
    unlock(target);
  },
  1,
  checkingPool,
);

lanesTest(
  "into an existing directory, every file is made here, as archived",
  async (dir, codec) => {
    // Entries there may be replaced: each is made under a temporary name and
    // renamed, which the lanes do not do.
    const root = tree(2);
    const target = `${dir}/out`;
    await Deno.mkdir(`${target}/d00`, { recursive: true });
    await Deno.writeTextFile(`${target}/d00/f001`, "replaced");
    let asked = 0;
    await untar({
      target,
      source: "t.catar",
      feed: feedOf(buildArchive(root)),
      fs: denoTreeFs,
      lanes: () => (asked++, codec), // not even asked for: they may start workers
    });
    assertAsArchived(root, target);
    assertEquals([asked, codec.batches], [0, 0]);
    unlock(target);
  },
);

lanesTest(
  "with the lanes busy, a directory whose files were made here is done at its end",
  async (dir, codec) => {
    const dirs = Array.from({ length: 600 }, (_, i) => ({
      ...directory(`a${String(i).padStart(3, "0")}`, [file("f", "x")], 0o555),
      mtimeNs: 1_300_000_000_000_000_000n + BigInt(i) * MS,
    }));
    const root = directory(undefined, [...dirs, file("z", bytesOf(9, 2 << 20))]);
    const release = (codec as CheckingPool).hold();
    const early = await statBeforeEnd(dir, root, codec, "a599", release);
    assertEquals(early.mode! & 0o777, 0o555, "a599's mode was set only at the end");
    assertEquals(early.mtime!.getTime(), 1_300_000_000_599);
    assertAsArchived(root, `${dir}/out`);
    // Two batches of 256 held by the lane; the rest made here.
    assertEquals(codec.files, 512);
    unlock(`${dir}/out`);
  },
  1,
  checkingPool,
);

lanesTest(
  "within a push of thousands of small files, the lanes' replies come in and they make more",
  async (dir, codec) => {
    // One push: were the lane's replies left until it is done, the lane would
    // make its first two batches (512 files) and this thread all the others.
    const root = wideTree(50, 120);
    const target = `${dir}/out`;
    await untarTree(target, root, codec, Infinity);
    assertAsArchived(root, target);
    assert(codec.files > 512, `${codec.files} files made by the lane`);
  },
  1,
);
