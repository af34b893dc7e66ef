import { assertEquals } from "../assert.ts";
import { BINARY_PERMISSIONS, COMMAND_PERMISSIONS } from "../../scripts/permissions.ts";
import denoConfig from "../../deno.json" with { type: "json" };
import { runCli } from "../helpers.ts";

Deno.test("deno task desync runs with exactly the binary's permission flags", () => {
  const task = denoConfig.tasks.desync.split(" ");
  assertEquals(task.filter((word) => word.startsWith("--allow")), [...BINARY_PERMISSIONS]);
});

Deno.test("the CLI answers under the binary's flags and under each command's narrow flags", async () => {
  const binary = await runCli(["--version"], BINARY_PERMISSIONS);
  assertEquals(binary.code, 0, binary.stderr);
  for (const [command, flags] of Object.entries(COMMAND_PERMISSIONS)) {
    const result = await runCli([command.split(" ")[0], "--help"], flags);
    assertEquals(result.code, 0, `${command}: ${result.stderr}`);
  }
});
