/**
 * untar on names Deno cannot pass to the file system: the archive is valid
 * (casync writes and extracts them), so the failure names the entry and what
 * is lacking, not the archive as invalid.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { ArchiveFormatError, DesyncError } from "../../src/errors.ts";
import { untar } from "../../src/ops/untar.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { buildArchive, directory, file } from "../format/catar_builder.ts";

Deno.test("untar: a name that is not UTF-8 fails naming the entry, not as an invalid archive", async (t) => {
  const dir = await tempDir(t);
  try {
    const name = new Uint8Array([0x66, 0xff]);
    const archive = buildArchive(directory(undefined, [{ ...file("", "x"), name }]));
    const error = await assertRejects(
      () => untar({ target: `${dir}/t`, source: "test.catar", feed: (push) => push(archive) }),
      DesyncError,
    );
    assert(!(error instanceof ArchiveFormatError), error.message);
    assertEquals(
      error.message,
      `${dir}/t/f\ufffd: cannot create: its name is not UTF-8, which Deno cannot pass to the ` +
        "file system",
    );
    assertEquals([...Deno.readDirSync(dir)], [], "nothing is left");
  } finally {
    await removeDir(dir);
  }
});
