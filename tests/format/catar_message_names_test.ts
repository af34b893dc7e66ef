/**
 * Names from an archive in messages: a name may hold any byte but "/" and NUL,
 * so a newline or a terminal escape in it must not reach stderr as such (it
 * would forge a second "desync:" line or drive the terminal).
 */
import { assert, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { ArchiveFormatError, DesyncError } from "../../src/errors.ts";
import { S_IFIFO } from "../../src/format/catar.ts";
import { CatarDecoder } from "../../src/format/catar_decoder.ts";
import { untar } from "../../src/ops/untar.ts";
import { denoTreeFs } from "../../src/util/tree_fs.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { buildArchive, directory, file } from "./catar_builder.ts";

const HOSTILE = "evil\ndesync: all good\u001b[2J\u009b1m\u007f";

function assertPrintable(message: string) {
  for (const c of message) {
    const code = c.codePointAt(0)!;
    assert(code >= 0x20 && !(code >= 0x7f && code <= 0x9f), `control character in ${message}`);
  }
}

Deno.test("catar: a name's control characters are escaped in the decoder's messages", () => {
  const archive = buildArchive(
    directory(undefined, [directory("d", [file(HOSTILE, "x".repeat(100))])]),
  );
  const error = assertThrows(
    () => {
      const decoder = new CatarDecoder("test.catar");
      decoder.push(archive.subarray(0, archive.length - 150));
      decoder.end();
    },
    ArchiveFormatError,
  );
  assertPrintable(error.message);
  assert(error.message.includes('inside "d/evil\\x0Adesync: all good\\x1B[2J'), error.message);
});

Deno.test("catar: untar's messages escape a name's control characters", async (t) => {
  const dir = await tempDir(t);
  try {
    const archive = buildArchive(directory(undefined, [{ name: HOSTILE, mode: S_IFIFO | 0o644 }]));
    const error = await assertRejects(
      () =>
        untar({
          target: `${dir}/t`,
          source: "test.catar",
          feed: (push) => push(archive),
          fs: denoTreeFs,
        }),
      DesyncError,
    );
    assertPrintable(error.message);
    assertEquals(
      error.message.split(":")[0],
      `${dir}/t/evil\\x0Adesync`,
      "the name is shown, escaped",
    );
  } finally {
    await removeDir(dir);
  }
});
