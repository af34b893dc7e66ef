import { assertEquals } from "../assert.ts";
import { parseIdTable } from "../../src/util/user_db.ts";

Deno.test("user db: the first line for an ID or a name wins; junk lines are skipped", () => {
  const table = parseIdTable(
    [
      "root:x:0:0:root:/root:/bin/bash",
      "# a comment",
      "daemon:x:1:1::/:/usr/sbin/nologin",
      "alias:x:1:1::/:/bin/sh",
      "broken",
      "noid:x::5::/:",
      "+nis",
      "",
    ].join("\n"),
  );
  assertEquals(table.byId.get(0), "root");
  assertEquals(table.byId.get(1), "daemon");
  assertEquals(table.byName.get("alias"), 1);
  assertEquals(table.byName.has("noid"), false);
  assertEquals(table.byId.size, 2);
});
