import { assertEquals } from "../assert.ts";
import { parseIdTable, userDb } from "../../src/util/user_db.ts";
import { tempDirTest } from "../helpers.ts";

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

tempDirTest(
  "user db: the files are read when a name is first looked up, not before",
  async (dir) => {
    const db = userDb(`${dir}/passwd`, `${dir}/group`);
    // Written after the database was made: an eager read would have found nothing.
    await Deno.writeTextFile(`${dir}/passwd`, "alice:x:1000:1000::/home/alice:/bin/sh\n");
    await Deno.writeTextFile(`${dir}/group`, "staff:x:50:\n");
    assertEquals(db.userName(1000), "alice");
    assertEquals(db.uid("alice"), 1000);
    assertEquals(db.groupName(50), "staff");
    assertEquals(db.gid("staff"), 50);
    assertEquals(userDb(`${dir}/none`, `${dir}/none`).userName(1000), undefined);
  },
);
