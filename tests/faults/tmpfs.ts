/**
 * Small tmpfs mounts for disk-full and read-only faults. Mounting needs root
 * on Linux; elsewhere the tests that need one are ignored with the reason.
 */
import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { assert, assertEquals } from "../assert.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { type Fixture, makeFixture } from "./harness.ts";

/** Why tmpfs tests cannot run here, or false when a small tmpfs can be mounted. */
async function tmpfsMissing(): Promise<string | false> {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return "needs root on Linux to mount a tmpfs";
  const dir = await Deno.makeTempDir();
  try {
    const mount = await run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
    if (!mount) return "cannot mount a tmpfs here (no CAP_SYS_ADMIN?)";
    await run("umount", [dir]);
    return false;
  } finally {
    await Deno.remove(dir).catch(() => {});
  }
}

export async function run(cmd: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

export const TMPFS_MISSING = await tmpfsMissing();

/**
 * Runs `fn` with a tmpfs of `size` (and at most `inodes` inodes) mounted at
 * `${fixture.dir}/small` (read-only if asked).
 */
export function tmpfsTest(
  name: string,
  options: { size: string; inodes?: number; readOnly?: boolean },
  fn: (f: Fixture, small: string) => Promise<void>,
) {
  Deno.test({
    name: `faults: ${name}`,
    ignore: Boolean(TMPFS_MISSING),
    async fn(t) {
      const dir = await tempDir(t);
      const small = `${dir}/small`;
      await Deno.mkdir(small);
      const opts = `size=${options.size}` +
        (options.inodes ? `,nr_inodes=${options.inodes}` : "") + (options.readOnly ? ",ro" : "");
      if (!(await run("mount", ["-t", "tmpfs", "-o", opts, "tmpfs", small]))) {
        throw new Error(`mount tmpfs on ${small} failed`);
      }
      try {
        await fn(await makeFixture(dir), small);
      } finally {
        await run("umount", ["-l", small]);
        await removeDir(dir);
      }
    },
  });
}

/** Makes a mounted tmpfs read-only, keeping what it holds. */
export async function remountReadOnly(dir: string) {
  if (!(await run("mount", ["-o", "remount,ro", dir]))) {
    throw new Error(`remounting ${dir} read-only failed`);
  }
}

/** Fills a file system to the last byte. */
export async function fill(dir: string) {
  const file = await Deno.open(`${dir}/filler`, { write: true, create: true });
  try {
    for (;;) await file.write(new Uint8Array(4096));
  } catch {
    // full
  } finally {
    file.close();
  }
}

export const NO_SPACE = "no space left on device";

/**
 * Every chunk file under `store` decompresses (zstd, by node:zlib, not our
 * codec) to data that hashes to its name, and no temporary file is left;
 * returns how many chunk files there are.
 */
export function assertStoreSound(store: string): number {
  let count = 0;
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) {
        walk(path);
        continue;
      }
      assert(!entry.name.endsWith(".tmp"), `temporary file left in the store: ${path}`);
      if (!entry.name.endsWith(".cacnk")) continue;
      const plain = zlib.zstdDecompressSync(Deno.readFileSync(path));
      const id = createHash("sha512-256").update(plain).digest("hex");
      assertEquals(`${id}.cacnk`, entry.name, `${path} holds another chunk`);
      count++;
    }
  };
  walk(store);
  return count;
}
