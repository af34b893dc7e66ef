import { assert, assertEquals } from "../assert.ts";
import { buildProgram } from "../../src/cli/program.ts";
import { normalizeBoolFlags } from "../../src/cli/go_args.ts";

Deno.test("the command being run is built alone; help and completion get the whole tree", async () => {
  const whole = (await buildProgram()).commands.map((command) => command.name());
  assert(whole.length > 15 && whole.includes("extract") && whole.includes("tar"));
  assertEquals((await buildProgram("extract")).commands.map((c) => c.name()), ["extract"]);
  assertEquals((await buildProgram("completion")).commands.map((c) => c.name()), whole);
  assertEquals((await buildProgram("help")).commands.map((c) => c.name()), whole);
  // An unknown name gets the whole tree too, so the parser can say it is unknown.
  assertEquals((await buildProgram("nosuch")).commands.map((c) => c.name()), whole);
});

Deno.test("Go's --flag=false reaches a flag that has only a --no- form when its command is built alone", async () => {
  // tar has only --no-same-owner; untar's plain --same-owner is not in a tar-only tree.
  const tar = await buildProgram("tar");
  const normal = (...args: string[]) => normalizeBoolFlags(["tar", ...args, "a.catar", "dir"], tar);
  assertEquals(normal("--same-owner=false"), ["tar", "--no-same-owner", "a.catar", "dir"]);
  // On by default: =true says the same as leaving it out.
  assertEquals(normal("--same-owner=true"), ["tar", "a.catar", "dir"]);
  // The whole tree (a global option first) reads it the same way.
  const whole = await buildProgram();
  assertEquals(normalizeBoolFlags(["tar", "--same-owner=false"], whole), [
    "tar",
    "--no-same-owner",
  ]);
});

Deno.test("Go's --no-flag=true/false forms (untar --no-same-owner=true) become what the parser takes", async () => {
  const untar = await buildProgram("untar");
  const normal = (...args: string[]) => normalizeBoolFlags(["untar", ...args], untar);
  assertEquals(normal("--no-same-owner=true"), ["untar", "--no-same-owner"]);
  assertEquals(normal("--no-same-owner=false"), ["untar", "--same-owner"]);
  assertEquals(normal("--no-same-permissions=1"), ["untar", "--no-same-permissions"]);
  // Only a --no- form, which is off by default: =false says the same as leaving it out.
  assertEquals(normal("--no-same-permissions=false"), ["untar"]);
  assertEquals(normal("--no-same-owner=maybe"), ["untar", "--no-same-owner=maybe"]);
});

Deno.test("Go's short flags with =value (pflag's -r=false, -n=4) become what the parser takes", async () => {
  const extract = await buildProgram("extract");
  const normal = (...args: string[]) => normalizeBoolFlags(["extract", ...args], extract);
  // -r is --cache-repair: =false is its --no- form, =true the flag itself.
  assertEquals(normal("-r=false", "i", "o"), ["extract", "--no-cache-repair", "i", "o"]);
  assertEquals(normal("-r=true", "i", "o"), ["extract", "--cache-repair", "i", "o"]);
  // -t (--trust-insecure) is off by default.
  assertEquals(normal("-t=true"), ["extract", "--trust-insecure"]);
  assertEquals(normal("-t=false"), ["extract"]);
  // A flag that takes a value gets it as the next argument, '=' signs in it kept.
  assertEquals(normal("-n=4", "-s=/a=b"), ["extract", "-n", "4", "-s", "/a=b"]);
  // Unknown short flags are left for the parser to refuse.
  assertEquals(normal("-Z=1"), ["extract", "-Z=1"]);
});
