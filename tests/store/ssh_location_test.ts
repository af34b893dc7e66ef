import { assertEquals, assertThrows } from "../assert.ts";
import { UsageError } from "../../src/errors.ts";
import { parseSshLocation, shellQuote } from "../../src/store/ssh_location.ts";

Deno.test("ssh:// locations: user, host, port and path", () => {
  assertEquals(parseSshLocation("ssh://host/srv/store"), {
    user: undefined,
    host: "host",
    port: undefined,
    path: "/srv/store",
  });
  assertEquals(parseSshLocation("ssh://me@10.0.0.1:2222/a b"), {
    user: "me",
    host: "10.0.0.1",
    port: 2222,
    path: "/a b",
  });
  assertEquals(parseSshLocation("ssh://[::1]:22/s").host, "::1");
  for (const bad of ["ssh://host", "ssh:///path", "ssh://-oProxyCommand=x/p", "ssh://-u@host/p"]) {
    assertThrows(() => parseSshLocation(bad), UsageError, bad);
  }
});

Deno.test("shellQuote leaves plain paths alone and quotes the rest for the remote shell", async () => {
  assertEquals(shellQuote("/srv/store-1.x"), "/srv/store-1.x");
  for (const word of ["a b", "it's", "$(rm -rf /)", "`x`;y", ""]) {
    const quoted = shellQuote(word);
    const echoed = await new Deno.Command("sh", { args: ["-c", `printf %s ${quoted}`] }).output();
    assertEquals(new TextDecoder().decode(echoed.stdout), word);
  }
});
