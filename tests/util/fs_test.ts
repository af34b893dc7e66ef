import { assert, assertEquals, assertRejects } from "../assert.ts";
import { DesyncError } from "../../src/errors.ts";
import { concatBytes } from "../../src/util/bytes.ts";
import { tempName, writeAtomically } from "../../src/util/fs.ts";
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
