import { assertEquals } from "../assert.ts";
import { lastRemoteLine, remoteText, StderrTail } from "../../src/store/ssh_location.ts";

Deno.test("remoteText: control characters are escaped, so text from a remote stays one line", () => {
  assertEquals(remoteText("a\nb\r\x1b[2J\x07\x7f\x85 ü"), "a\\x0Ab\\x0D\\x1B[2J\\x07\\x7F\\x85 ü");
});

Deno.test("remoteText: long text is cut at 200 characters", () => {
  assertEquals(remoteText("y".repeat(5000)), `${"y".repeat(200)}…`);
  assertEquals(remoteText("y".repeat(200)), "y".repeat(200));
});

Deno.test("lastRemoteLine: the last non-empty line as a terminal shows it, quoted", () => {
  assertEquals(
    lastRemoteLine("warming up\nprogress 10%\rprogress 99%\rfailed: \x1b[31mno\n\n"),
    "failed: \\x1B[31mno",
  );
  assertEquals(lastRemoteLine(" \n\n"), undefined);
});

Deno.test("StderrTail: a remote flooding stderr costs its last 4 KiB, not all it wrote", async () => {
  const megabyte = new TextEncoder().encode("x".repeat(1 << 20));
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < 64) controller.enqueue(megabyte);
      else {
        controller.enqueue(new TextEncoder().encode("\nlast words\n"));
        controller.close();
      }
    },
  });
  const tail = new StderrTail(stream);
  await tail.done;
  assertEquals(tail.text.length, 4096);
  assertEquals(lastRemoteLine(tail.text), "last words");
});
