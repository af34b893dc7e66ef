import { assertEquals } from "../assert.ts";
import { remoteText } from "../../src/store/ssh_location.ts";

Deno.test("remoteText: control characters are escaped, so text from a remote stays one line", () => {
  assertEquals(remoteText("a\nb\r\x1b[2J\x07\x7f\x85 ü"), "a\\x0ab\\x0d\\x1b[2J\\x07\\x7f\\x85 ü");
});

Deno.test("remoteText: long text is cut at 200 characters", () => {
  assertEquals(remoteText("y".repeat(5000)), `${"y".repeat(200)}…`);
  assertEquals(remoteText("y".repeat(200)), "y".repeat(200));
});
