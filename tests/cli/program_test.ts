import { assert, assertEquals } from "../assert.ts";
import { buildProgram } from "../../src/cli/program.ts";

Deno.test("the command being run is built alone; help and completion get the whole tree", async () => {
  const whole = (await buildProgram()).commands.map((command) => command.name());
  assert(whole.length > 15 && whole.includes("extract") && whole.includes("tar"));
  assertEquals((await buildProgram("extract")).commands.map((c) => c.name()), ["extract"]);
  assertEquals((await buildProgram("completion")).commands.map((c) => c.name()), whole);
  assertEquals((await buildProgram("help")).commands.map((c) => c.name()), whole);
  // An unknown name gets the whole tree too, so commander can say it is unknown.
  assertEquals((await buildProgram("nosuch")).commands.map((c) => c.name()), whole);
});
