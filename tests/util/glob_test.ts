import { assert, assertThrows } from "../assert.ts";
import { globToRegExp, pathMatcher } from "../../src/util/glob.ts";

Deno.test("glob: * and ? stop at slashes, ** crosses them, classes work", () => {
  assert(globToRegExp("*.o").test("main.o"));
  assert(!globToRegExp("*.o").test("dir/main.o"));
  assert(globToRegExp("a/**/b").test("a/b"));
  assert(globToRegExp("a/**/b").test("a/x/y/b"));
  assert(globToRegExp("file?.[ch]").test("file1.c"));
  assert(!globToRegExp("file?.[ch]").test("file1.o"));
  assert(globToRegExp("[!a]x").test("bx"));
  assert(!globToRegExp("[!a]x").test("ax"));
  assert(globToRegExp("a+b(c)").test("a+b(c)"));
  assertThrows(() => globToRegExp("[abc"), SyntaxError);
});

Deno.test("glob: a pattern without a slash matches names at any depth, one with a slash paths", () => {
  const match = pathMatcher(["node_modules", "build/*.tmp", "/top"])!;
  assert(match("node_modules", "node_modules"));
  assert(match("a/b/node_modules", "node_modules"));
  assert(match("build/x.tmp", "x.tmp"));
  assert(!match("sub/build/x.tmp", "x.tmp"));
  assert(match("top", "top"));
  assert(!match("src/main.ts", "main.ts"));
  assert(pathMatcher([]) === undefined);
});
