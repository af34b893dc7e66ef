/**
 * A directory tree made at test time with everything an archive must carry:
 * nested and empty directories, empty and multi-chunk files, a directory of many
 * entries (a deep goodbye search tree), symlinks (relative, absolute, dangling),
 * a FIFO, a socket, a device node and other owners (as root), unicode names
 * whose byte order differs from their UTF-16 order, special modes, extended
 * attributes and file capabilities, and a distinct modification time with
 * nanoseconds on every entry.
 */
import { S_IFSOCK } from "../../src/format/catar.ts";
import { COMMAND_PERMISSIONS, FFI_PERMISSION } from "../../scripts/permissions.ts";
import { denoTreeFs, libcTreeFs, type TreeFs } from "../../src/util/tree_fs.ts";
import {
  changeOwner,
  effectiveUid,
  getXattr,
  listXattrs,
  makeNode,
  setModificationTime,
  setXattr,
} from "../../src/util/posix.ts";
import { assertEquals } from "../assert.ts";
import { mustRun, pseudoRandomFast, removeDir, runCli, tempDir, which } from "../helpers.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

/** File capabilities in the kernel's format: revision 2, effective, CAP_NET_BIND_SERVICE. */
const CAPABILITY = new Uint8Array([1, 0, 0, 2, 0, 4, 0, 0, ...new Array(12).fill(0)]);

export interface TreeOptions {
  /** FIFOs and sockets (Go desync neither archives nor unpacks them). */
  special?: boolean;
  /** A device node, made only as root. */
  devices?: boolean;
  /** Size of the large file. */
  largeSize?: number;
  /** Extended attributes and file capabilities. */
  xattrs?: boolean;
}

export const IS_ROOT = effectiveUid() === 0;

export async function makeTree(root: string, options: TreeOptions = {}): Promise<void> {
  const { special = true, devices = true, largeSize = 6 << 20, xattrs = true } = options;
  const write = (path: string, data: string | Uint8Array, mode = 0o644) =>
    Deno.writeFile(
      `${root}/${path}`,
      typeof data === "string" ? new TextEncoder().encode(data) : data,
      { mode },
    );
  await Deno.mkdir(`${root}/a/b/c/d`, { recursive: true });
  await Deno.mkdir(`${root}/empty-dir`);
  await Deno.mkdir(`${root}/many`);
  await Deno.mkdir(`${root}/sticky`, { mode: 0o755 });
  await Deno.chmod(`${root}/sticky`, 0o1777);
  await write("a/one", "one\n");
  await write("a/b/empty", "");
  await write("a/b/c/d/deep", "deep down\n", 0o600);
  await write("empty", "");
  await write("large", pseudoRandomFast(largeSize, 41));
  await write("setuid", "#!/bin/sh\n", 0o755);
  await Deno.chmod(`${root}/setuid`, 0o4755);
  for (let i = 0; i < 100; i++) await write(`many/entry-${i}`, "x".repeat(i * 37));
  // U+FB00 sorts after U+1F389 in UTF-16 but before it in UTF-8 bytes (casync's order).
  for (const name of ["ünïcødé", "日本語.txt", "\u{1F389}", "\uFB00", "with space", "hash#mark"]) {
    await write(name, `${name}\n`);
  }
  await Deno.symlink("a/b", `${root}/link-relative`);
  await Deno.symlink("/etc/hostname", `${root}/link-absolute`);
  await Deno.symlink("nowhere/at/all", `${root}/link-dangling`);
  if (special) {
    makeNode(`${root}/fifo`, 0o010640);
    makeNode(`${root}/socket`, S_IFSOCK | 0o755);
  }
  if (IS_ROOT && devices) makeNode(`${root}/null`, 0o020666, 1, 3);
  if (IS_ROOT) {
    changeOwner(`${root}/a/one`, 1, 1); // daemon: a name in /etc/passwd
    changeOwner(`${root}/empty`, 4242, 4343); // no name anywhere
    changeOwner(`${root}/link-relative`, 65534, 65534);
  }
  if (xattrs) {
    setXattr(`${root}/a/one`, bytes("user.comment"), bytes("hello"));
    setXattr(`${root}/a/one`, bytes("user.binary"), new Uint8Array([0, 1, 2, 0, 255]));
    setXattr(`${root}/a/one`, bytes("user.empty"), new Uint8Array());
    setXattr(`${root}/a`, bytes("user.directory"), bytes("d"));
    if (IS_ROOT) {
      setXattr(`${root}/setuid`, bytes("trusted.secret"), bytes("t"));
      await write("capable", "#!/bin/sh\n", 0o755);
      setXattr(`${root}/capable`, bytes("security.capability"), CAPABILITY);
    }
  }
  // Distinct times with nanoseconds, children before their directories.
  let tick = 0n;
  const stamp = (path: string) =>
    setModificationTime(path, 1_600_000_000_000_000_000n + (tick++) * 1_000_001_237n);
  const walk = (path: string) => {
    for (const entry of Deno.readDirSync(path)) {
      const child = `${path}/${entry.name}`;
      if (entry.isDirectory) walk(child);
      else stamp(child);
    }
    stamp(path);
  };
  walk(root);
}

/** Only what Deno alone can unpack: no FIFOs, sockets, device nodes or extended attributes. */
export const PLAIN_TREE: TreeOptions = { special: false, devices: false, xattrs: false };

/** How tar and untar run: the README's flags without FFI, and with it for casync-exact archives. */
export interface ArchiveMode {
  name: string;
  tar: readonly string[];
  untar: readonly string[];
  /** The file-system access the CLI selects under these flags. */
  fs: TreeFs;
}

export const WITHOUT_FFI: ArchiveMode = {
  name: "without FFI",
  tar: COMMAND_PERMISSIONS.tar,
  untar: COMMAND_PERMISSIONS.untar,
  fs: denoTreeFs,
};

export const WITH_FFI: ArchiveMode = {
  name: "with --allow-ffi",
  tar: [...COMMAND_PERMISSIONS.tar, FFI_PERMISSION],
  untar: [...COMMAND_PERMISSIONS.untar, FFI_PERMISSION],
  fs: libcTreeFs,
};

export const ARCHIVE_MODES = [WITHOUT_FFI, WITH_FFI];

/** Runs casync's `mtree` on a directory or archive: an independent listing to compare. */
export async function casyncMtree(path: string): Promise<string> {
  return (await mustRun("casync", ["mtree", path])).stdout;
}

/**
 * `diff -r` of two trees: contents, symlink targets, what exists. Returns the
 * differences, leaving out diff's notes that two special files are both FIFOs,
 * sockets or devices (it cannot compare them; mtree does).
 */
export async function diffTrees(a: string, b: string): Promise<string[]> {
  const result = await new Deno.Command("diff", {
    args: ["-r", "--no-dereference", a, b],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(result.stdout).split("\n").filter(Boolean);
  return lines.filter((line) => {
    const same = /^File .* is a (.+) while file .* is a (.+)$/.exec(line);
    return !(same && same[1] === same[2]);
  });
}

export const DIFF_MISSING = which("diff") ? false : "needs diff";

/** Runs our CLI with `permissions` and fails the test unless it exits 0. */
export async function desyncOk(args: string[], permissions: readonly string[]) {
  const result = await runCli(args, permissions);
  assertEquals(result.code, 0, `desync ${args.join(" ")}: ${result.stderr}`);
  return result;
}

/**
 * A family of tests that each get a temporary directory with a fresh tree made
 * by makeTree(`options`) at `<dir>/tree`; all ignored for `ignore`'s reason.
 */
export function treeTests(prefix: string, ignore: string | false, options: TreeOptions = {}) {
  return (name: string, fn: (dir: string, tree: string) => Promise<void>) =>
    Deno.test({
      name: `${prefix}: ${name}`,
      ignore: Boolean(ignore),
      async fn(t) {
        const dir = await tempDir(t);
        try {
          const tree = `${dir}/tree`;
          await Deno.mkdir(tree);
          await makeTree(tree, options);
          await fn(dir, tree);
        } finally {
          await removeDir(dir);
        }
      },
    });
}

/** Every entry's extended attributes under `root` ("path name=hex" lines): what mtree does not show. */
export function xattrListing(root: string): string[] {
  const lines: string[] = [];
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const walk = (relative: string) => {
    const path = relative ? `${root}/${relative}` : root;
    const info = Deno.lstatSync(path);
    if (info.isSymlink) return;
    for (const name of listXattrs(path)) {
      lines.push(
        `${relative || "."} ${new TextDecoder().decode(name)}=${hex(getXattr(path, name)!)}`,
      );
    }
    if (!info.isDirectory) return;
    for (const entry of Deno.readDirSync(path)) {
      walk(relative ? `${relative}/${entry.name}` : entry.name);
    }
  };
  walk("");
  return lines.sort();
}
