import { assertEquals } from "../assert.ts";
import { escapeControls, hexEscape } from "../../src/util/printable.ts";

Deno.test("escapeControls: C0, DEL and C1 become \\xHH; other text stays", () => {
  assertEquals(
    escapeControls("a\tb\nc\x1b[2J\x7f\x80\x9f\xa0é€"),
    "a\\x09b\\x0Ac\\x1B[2J\\x7F\\x80\\x9F\xa0é€",
  );
  assertEquals(escapeControls("plain name.txt"), "plain name.txt");
});

Deno.test("hexEscape: two upper-case digits", () => {
  assertEquals(["\x00", "\n", '"', "\\", "\xe9"].map(hexEscape), [
    "\\x00",
    "\\x0A",
    "\\x22",
    "\\x5C",
    "\\xE9",
  ]);
});
