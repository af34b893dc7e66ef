/** The servers' small parsers: listen addresses, chunk and index paths, ETags, log lines, pull arguments. */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { UsageError } from "../../src/errors.ts";
import { parseListenAddress } from "../../src/server/http_server.ts";
import { chunkIdOf, matchesEtag } from "../../src/server/chunk_handler.ts";
import { indexNameFromPath } from "../../src/server/index_server.ts";
import { commonLogLine } from "../../src/server/access_log.ts";
import { parsePullArgs } from "../../src/server/pull.ts";
import { authorizer } from "../../src/server/auth.ts";
import { localHead } from "../../src/server/chunk_server.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";

const ID = "0123456789abcdef".repeat(4) as ChunkId;

Deno.test("listen addresses: [HOST]:PORT, IPv6 in brackets; anything else is a usage error", () => {
  assertEquals(parseListenAddress(":8080"), { hostname: "0.0.0.0", port: 8080 });
  assertEquals(parseListenAddress("127.0.0.1:0"), { hostname: "127.0.0.1", port: 0 });
  assertEquals(parseListenAddress("[::1]:443"), { hostname: "::1", port: 443 });
  assertEquals(parseListenAddress("localhost:80"), { hostname: "localhost", port: 80 });
  for (const bad of ["8080", "host", ":", ":70000", "::1:80", "a:b"]) {
    assertThrows(() => parseListenAddress(bad), UsageError, "-l wants");
  }
});

Deno.test("chunk paths: only /<4 hex>/<id>.cacnk (bare with -u), prefix matching the ID", () => {
  assertEquals(chunkIdOf(`/0123/${ID}.cacnk`, false), ID);
  assertEquals(chunkIdOf(`/0123/${ID}.cacnk?x=1`, false), ID);
  assertEquals(chunkIdOf(`/0123/${ID}`, true), ID);
  for (
    const bad of [
      `/0123/${ID}`,
      `/0124/${ID}.cacnk`,
      `/0123/${ID.toUpperCase()}.cacnk`,
      `/0123/${ID}.cacnk/`,
      `//0123/${ID}.cacnk`,
      `/../0123/${ID}.cacnk`,
      `/0123/${ID.slice(1)}.cacnk`,
      `/0123/${ID}.cacnk.tmp`,
      "/",
      "",
    ]
  ) {
    assertEquals(chunkIdOf(bad, false), undefined, bad);
  }
  assertEquals(chunkIdOf(`/0123/${ID}.cacnk`, true), undefined);
});

Deno.test("If-None-Match: a listed ETag, a weak one, or *", () => {
  const etag = `"${ID}"`;
  assert(matchesEtag(etag, etag));
  assert(matchesEtag(`"x", W/${etag}`, etag));
  assert(matchesEtag("*", etag));
  assert(!matchesEtag(`"${ID.slice(1)}0"`, etag));
  assert(!matchesEtag(undefined, etag));
});

Deno.test("index paths: names and directories of plain segments, never dot-led", () => {
  assertEquals(indexNameFromPath("/a.caibx"), "a.caibx");
  assertEquals(indexNameFromPath("/v1/img-2.0.caidx"), "v1/img-2.0.caidx");
  for (
    const bad of [
      "/../a.caibx",
      "/a/../b.caibx",
      "/.a.caibx",
      "/a.caibx/",
      "/a.txt",
      "//a.caibx",
      "/a b.caibx",
    ]
  ) {
    assertEquals(indexNameFromPath(bad), undefined, bad);
  }
  // Linux's NAME_MAX is 255 bytes a path component: longer cannot exist (ENAMETOOLONG).
  const longest = `${"n".repeat(249)}.caibx`;
  assertEquals(indexNameFromPath(`/${longest}`), longest);
  assertEquals(indexNameFromPath(`/d/n${longest}`), undefined);
  assertEquals(indexNameFromPath(`/${"d".repeat(256)}/a.caibx`), undefined);
});

Deno.test("access log: the common log format, client text escaped", () => {
  const when = new Date(Date.UTC(2026, 10, 5, 7, 8, 9));
  assertEquals(
    commonLogLine("127.0.0.1", "GET", "/a/b", "1.1", 200, 512, when),
    '127.0.0.1 - - [05/Nov/2026:07:08:09 +0000] "GET /a/b HTTP/1.1" 200 512\n',
  );
  assertEquals(
    commonLogLine("::1", "GET", '/x"\n', "1.1", 404, 0, when),
    '::1 - - [05/Nov/2026:07:08:09 +0000] "GET /x\\x22\\x0A HTTP/1.1" 404 -\n',
  );
  // nginx 1.22 logged this target (é sent as its UTF-8 bytes) as /x\x22\x01\x5Cy\xC3\xA9.
  assertEquals(
    commonLogLine("::1", "GET", '/x"\x01\\y\xc3\xa9', "1.1", 400, 0, when),
    '::1 - - [05/Nov/2026:07:08:09 +0000] "GET /x\\x22\\x01\\x5Cy\\xC3\\xA9 HTTP/1.1" 400 -\n',
  );
});

Deno.test("pull arguments: casync's four dashes, Go desync's three, an index", () => {
  assertEquals(parsePullArgs(["-", "-", "-", "-", "/s"]), { index: undefined, stores: ["/s"] });
  assertEquals(parsePullArgs(["-", "-", "-", "/s"]), { index: undefined, stores: ["/s"] });
  assertEquals(parsePullArgs(["-", "-", "/i.caibx", "-"]), { index: "/i.caibx", stores: [] });
  assertEquals(parsePullArgs(["-", "-", "-", "/w", "/r"]), {
    index: undefined,
    stores: ["/w", "/r"],
  });
  assertThrows(() => parsePullArgs(["-", "-", "-"]), UsageError);
  assertThrows(() => parsePullArgs(["-", "-", "-", "-"]), UsageError, "nothing to serve");
  assertThrows(() => parsePullArgs(["/base", "-", "-", "/s"]), UsageError, "not archives");
  assertThrows(() => parsePullArgs(["-", "/a.catar", "-", "/s"]), UsageError, "not archives");
});

Deno.test("authorization: exactly the expected header; none expected lets all in", () => {
  const check = authorizer("Bearer sesame");
  assert(check("Bearer sesame"));
  for (const wrong of [undefined, "", "Bearer sesam", "Bearer sesame ", "bearer sesame"]) {
    assert(!check(wrong), String(wrong));
  }
  assert(authorizer(undefined)(undefined));
});

Deno.test("local head: the local stores before the first remote one, none behind a cache", () => {
  assertEquals(localHead(["/a/", "/b", "http://x/", "/c"]), ["/a", "/b"]);
  assertEquals(localHead(["http://x/", "/c"]), []);
  assertEquals(localHead(["/a"], "/cache/"), ["/cache"]);
  assertEquals(localHead(["/a"], "http://cache/"), []);
});
