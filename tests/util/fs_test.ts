import { assert, assertEquals, assertRejects } from "../assert.ts";
import { DesyncError } from "../../src/errors.ts";
import { concatBytes } from "../../src/util/bytes.ts";
import { removeStaleTemps, tempName, writeAtomically } from "../../src/util/fs.ts";
import { removeDir, tempDir } from "../helpers.ts";

Deno.test("writeAtomically renames on success and leaves nothing on failure", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/out`, "old");
    await assertRejects(
      () =>
        writeAtomically(`${dir}/out`, async (file) => {
          await file.write(new TextEncoder().encode("half"));
          throw new RangeError("boom");
        }),
      RangeError,
      "boom",
    );
    assertEquals(await Deno.readTextFile(`${dir}/out`), "old", "the old file is untouched");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["out"]);
    await writeAtomically(`${dir}/out`, (file) => file.write(new TextEncoder().encode("new")));
    assertEquals(await Deno.readTextFile(`${dir}/out`), "new");
    await assertRejects(
      () => writeAtomically(`${dir}/none/out`, () => Promise.resolve()),
      DesyncError,
      "none/out",
    );
  } finally {
    await removeDir(dir);
  }
});

Deno.test("temporary names are hidden siblings and unique", () => {
  const a = tempName("/x/y/file.img");
  assert(a.startsWith("/x/y/.file.img.") && a.endsWith(".tmp"), a);
  assert(a !== tempName("/x/y/file.img"));
});

Deno.test("concatBytes joins in order", () => {
  assertEquals(
    Array.from(concatBytes([new Uint8Array([1]), new Uint8Array(), new Uint8Array([2, 3])])),
    [1, 2, 3],
  );
});

Deno.test("a killed writer's temporary file is removed; a live writer's never is", async () => {
  const dir = await tempDir();
  try {
    const out = `${dir}/blob`;
    // A writer that died: its file carries no lock any more.
    const dead = tempName(out);
    await Deno.writeTextFile(dead, "partial");
    // A live writer: holds the lock, as writeAtomically does while it writes.
    const live = tempName(out);
    const held = await Deno.open(live, { write: true, createNew: true });
    held.lockSync(true);
    // Not a temporary file of this output, though it looks close.
    await Deno.writeTextFile(`${dir}/.blob.txt.1-a.tmp`, "other");
    const old = new Date(Date.now() - 10_000);
    for (const path of [dead, live]) await Deno.utime(path, old, old);
    try {
      const removed = await removeStaleTemps(out);
      assertEquals(removed, [dead.slice(dir.length + 1)]);
      assertEquals(
        [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
        [live.slice(dir.length + 1), ".blob.txt.1-a.tmp"].sort(),
      );
      // A fresh file is left alone even without a lock: its writer may not have locked it yet.
      const fresh = tempName(out);
      await Deno.writeTextFile(fresh, "");
      assertEquals(await removeStaleTemps(out), []);
    } finally {
      held.close();
    }
  } finally {
    await removeDir(dir);
  }
});

Deno.test("the writer's own temporary file is never judged by its own tidying", async () => {
  const dir = await tempDir();
  try {
    const out = `${dir}/blob`;
    // Old and unlocked, as our own file looks to a lock that does not tell this process's
    // descriptors apart (NFS emulates flock with POSIX locks, which are per process).
    const ours = tempName(out);
    await Deno.writeTextFile(ours, "partial");
    const old = new Date(Date.now() - 10_000);
    await Deno.utime(ours, old, old);
    assertEquals(await removeStaleTemps(out, ours), []);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [ours.slice(dir.length + 1)]);
    assertEquals(await removeStaleTemps(out), [ours.slice(dir.length + 1)], "another's, it goes");
  } finally {
    await removeDir(dir);
  }
});

Deno.test("file errors name the output and the operation", async () => {
  const dir = await tempDir();
  try {
    const out = `${dir}/out`;
    const error = await assertRejects(
      () =>
        writeAtomically(out, (_file, temp) => {
          throw new Error(`${temp}: cannot write at offset 5: no space left on device`);
        }),
      DesyncError,
    );
    assertEquals(error.message, `${out}: cannot write at offset 5: no space left on device`);
    const os = await assertRejects(
      () =>
        writeAtomically(out, () => {
          throw Object.assign(new Error("No space left on device (os error 28)"), {
            code: "ENOSPC",
          });
        }),
      DesyncError,
    );
    assertEquals(os.message, `${out}: cannot write: no space left on device`);
    assertEquals([...Deno.readDirSync(dir)], []);
  } finally {
    await removeDir(dir);
  }
});

Deno.test("temporary names carry the writer's PID", () => {
  assert(new RegExp(`^/x/\\.f\\.${Deno.pid}-[0-9a-z]+\\.tmp$`).test(tempName("/x/f")));
});
