/** readIndex reads local files no further than its limit, whatever their stat said. */
import { assertMatch, assertRejects } from "../assert.ts";
import { readIndex } from "../../src/ops/read_index.ts";
import { DesyncError } from "../../src/errors.ts";

Deno.test({
  name: "readIndex: a file longer than its stat said is read no further than the limit",
  // A /proc file stats as a regular file of size 0 and reads as ~1 KiB: as one that grew.
  ignore: Deno.build.os !== "linux",
  async fn() {
    const error = await assertRejects(
      () => readIndex("/proc/self/status", undefined, {}, { maxBytes: 100 }),
      DesyncError,
    );
    assertMatch(error.message, /^\/proc\/self\/status: cannot read index: larger than 100 bytes/);
  },
});

Deno.test("readIndex: a directory is not a regular file", async () => {
  const error = await assertRejects(() => readIndex("/"), DesyncError);
  assertMatch(error.message, /^\/: cannot read index: not a regular file$/);
});
