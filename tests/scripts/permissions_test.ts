import { assert, assertEquals } from "../assert.ts";
import {
  BINARY_FFI_PERMISSIONS,
  BINARY_PERMISSIONS,
  COMMAND_PERMISSIONS,
  FFI_PERMISSION,
  RUNTIME_FLAGS,
} from "../../scripts/permissions.ts";
import denoConfig from "../../deno.json" with { type: "json" };
import { runCli } from "../helpers.ts";

Deno.test("deno task desync and install run with exactly the binary's permission and runtime flags", () => {
  for (const task of [denoConfig.tasks.desync, denoConfig.tasks.install]) {
    const words = task.split(" ");
    assertEquals(words.filter((word) => word.startsWith("--allow")), [...BINARY_PERMISSIONS]);
    assertEquals(words.filter((word) => word.startsWith("--v8-flags")), [...RUNTIME_FLAGS]);
  }
});

Deno.test("no default permission list grants FFI (calling native code is every permission)", () => {
  const lists = [
    BINARY_PERMISSIONS,
    ...Object.values(COMMAND_PERMISSIONS),
    denoConfig.tasks.desync.split(" "),
    denoConfig.tasks.install.split(" "),
  ];
  for (const flags of lists) {
    assert(!flags.some((flag) => flag.startsWith("--allow-ffi")), flags.join(" "));
    assert(!flags.some((flag) => flag === "--allow-all" || flag === "-A"), flags.join(" "));
  }
  // Only the variant built with `deno task build --ffi` has it.
  assertEquals(BINARY_FFI_PERMISSIONS, [...BINARY_PERMISSIONS, FFI_PERMISSION]);
  assertEquals(FFI_PERMISSION, "--allow-ffi");
});

Deno.test("the CLI answers under the binary's flags and under each command's narrow flags", async () => {
  const binary = await runCli(["--version"], BINARY_PERMISSIONS);
  assertEquals(binary.code, 0, binary.stderr);
  for (const [command, flags] of Object.entries(COMMAND_PERMISSIONS)) {
    const result = await runCli([command.split(" ")[0], "--help"], flags);
    assertEquals(result.code, 0, `${command}: ${result.stderr}`);
  }
});
