/**
 * Installing and running desync outside the repository: `deno task desync`
 * from another directory, `deno task install` (deno install -g) into a
 * temporary root, and a build whose binary fails its check leaves nothing.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import denoConfig from "../../deno.json" with { type: "json" };
import { BINARY_FFI_PERMISSIONS, BINARY_PERMISSIONS } from "../../scripts/permissions.ts";
import { pseudoRandom, removeDir, REPO, runTool, sha256sum, tempDir } from "../helpers.ts";

Deno.test("install: deno task install runs with exactly the binary's permission flags", () => {
  const words = denoConfig.tasks.install.split(" ");
  assertEquals(words.filter((word) => word.startsWith("--allow")), [...BINARY_PERMISSIONS]);
});

Deno.test("install: deno task desync resolves paths against the user's directory", async (t) => {
  const work = await tempDir(t);
  // Names of its own, so that what a failed run may leave in the repository is told apart.
  const [index, store] = [`b-${crypto.randomUUID()}.caibx`, `store-${crypto.randomUUID()}`];
  try {
    await Deno.writeFile(`${work}/blob`, pseudoRandom(300_000, 5));
    // As from a shell: no INIT_CWD inherited from a task this test may run under.
    const task = ["task", "--quiet", "--config", `${REPO}deno.json`, "desync"];
    const made = await runTool(
      "env",
      ["-u", "INIT_CWD", Deno.execPath(), ...task, "make", "-s", store, index, "blob"],
      { cwd: work },
    );
    assertEquals(made.code, 0, made.stderr);
    assert(Deno.statSync(`${work}/${index}`).isFile);
    assert(Deno.statSync(`${work}/${store}`).isDirectory);
    assertEquals([...Deno.readDirSync(REPO)].filter((e) => [index, store].includes(e.name)), []);
  } finally {
    await removeDir(work);
    await removeDir(`${REPO}${index}`);
    await removeDir(`${REPO}${store}`);
  }
});

Deno.test("install: deno install -g puts a desync in the root that works from any directory", async (t) => {
  const root = await tempDir(t);
  const work = await tempDir(t);
  try {
    const installed = await runTool(
      Deno.execPath(),
      ["task", "--quiet", "--config", `${REPO}deno.json`, "install"],
      { cwd: work, env: { DENO_INSTALL_ROOT: root } },
    );
    assertEquals(installed.code, 0, installed.stderr);
    const desync = `${root}/bin/desync`;
    const shim = await Deno.readTextFile(desync);
    for (const flag of BINARY_PERMISSIONS) assert(shim.includes(flag), `the shim lacks ${flag}`);

    await Deno.writeFile(`${work}/blob`, pseudoRandom(400_000, 6));
    const version = await runTool(desync, ["--version"], { cwd: work });
    assertEquals(version.stdout.trim(), denoConfig.version);
    const made = await runTool(desync, ["make", "-s", "store", "b.caibx", "blob"], { cwd: work });
    assertEquals(made.code, 0, made.stderr);
    const extracted = await runTool(desync, ["extract", "-s", "store", "b.caibx", "out"], {
      cwd: work,
    });
    assertEquals(extracted.code, 0, extracted.stderr);
    assertEquals(await sha256sum(`${work}/out`), await sha256sum(`${work}/blob`));
    const help = await runTool(desync, ["extract", "--help"], { cwd: work });
    assertMatch(help.stdout, /^Usage: desync extract /);
  } finally {
    await removeDir(root);
    await removeDir(work);
  }
});

Deno.test("install: a build whose binary fails its check leaves no binary behind", async () => {
  // The full deno CLI as the runtime builds a binary that ignores the program: its check fails.
  for (const variant of [[], ["--ffi"]]) {
    const out = `dist-check-${crypto.randomUUID().slice(0, 8)}`;
    try {
      const built = await runTool(
        Deno.execPath(),
        ["task", "--quiet", "build", ...variant, "--out", out],
        { cwd: REPO, env: { DENORT_BIN: Deno.execPath() } },
      );
      assertEquals(built.code, 1, built.stderr);
      assertMatch(built.stderr, /removed it/);
      assertEquals([...Deno.readDirSync(`${REPO}${out}`)], []);
      // The command it ran: the binary's flags, plus --allow-ffi only for the desync-ffi variant.
      const compile = built.stderr.split("\n").find((line) => line.includes(" compile "))!;
      const flags = compile.split(" ").filter((word) => word.startsWith("--allow"));
      const ffi = variant.length > 0;
      assertEquals(flags, ffi ? [...BINARY_FFI_PERMISSIONS] : [...BINARY_PERMISSIONS]);
      assertMatch(compile, ffi ? /--output \S+\/desync-ffi / : /--output \S+\/desync /);
    } finally {
      await removeDir(`${REPO}${out}`);
    }
  }
});
