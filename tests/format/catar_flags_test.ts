/**
 * An archive's feature flags are refused as casync refuses them: bits it does
 * not know, and bits its normal form never has together (casync 2 answers such
 * an archive with "Bad message"; facts from src/caformat-util.c,
 * ca_feature_flags_are_normalized).
 */
import { assert, assertThrows } from "../assert.ts";
import { ArchiveFormatError } from "../../src/errors.ts";
import {
  WITH_16BIT_UIDS,
  WITH_2SEC_TIME,
  WITH_ACL,
  WITH_READ_ONLY,
  WITH_SUBVOLUME_RO,
} from "../../src/format/catar.ts";
import { CatarDecoder } from "../../src/format/catar_decoder.ts";
import { buildArchive, directory, file, TEST_FLAGS } from "./catar_builder.ts";

function decode(flags: bigint) {
  const decoder = new CatarDecoder("t.catar");
  decoder.push(buildArchive(directory(undefined, [file("a", "x")]), { flags }));
  decoder.end();
}

Deno.test("catar: feature flags that contradict each other are refused", () => {
  // TEST_FLAGS has 32-bit uids, nanosecond times and full permissions.
  for (
    const extra of [WITH_16BIT_UIDS, WITH_2SEC_TIME, WITH_READ_ONLY, WITH_ACL, WITH_SUBVOLUME_RO]
  ) {
    const error = assertThrows(() => decode(TEST_FLAGS | extra), ArchiveFormatError);
    assert(error.message.startsWith("t.catar: invalid archive: "), error.message);
    assert(error.message.includes("contradict"), error.message);
  }
  decode(TEST_FLAGS);
});
