/**
 * Variables Deno may not read are not ignored silently: an SSH store used
 * without --allow-env for CASYNC_SSH_PATH says it runs plain ssh, and an HTTP
 * answer refusing access says DESYNC_HTTP_AUTH could not be read.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { pseudoRandom, removeDir, runCli, tempDir } from "../helpers.ts";

const SSH_WARNING = "desync: warning: CASYNC_SSH_PATH and CASYNC_REMOTE_PATH are not read " +
  "without --allow-env=CASYNC_SSH_PATH,CASYNC_REMOTE_PATH; running ssh and casync by those names";

async function indexFixture(dir: string) {
  await Deno.writeFile(`${dir}/blob`, pseudoRandom(100_000, 3));
  const made = await runCli(["make", "-m", "4:16:64", `${dir}/blob.caibx`, `${dir}/blob`]);
  assertEquals(made.code, 0, made.stderr);
  return `${dir}/blob.caibx`;
}

Deno.test("env: an SSH store without --allow-env for CASYNC_SSH_PATH says it uses ssh", async (t) => {
  const dir = await tempDir(t);
  try {
    const index = await indexFixture(dir);
    // The wrapper fails at once; what matters is which program was run and what was said.
    const wrapper = `${dir}/fake-ssh`;
    await Deno.writeTextFile(wrapper, "#!/bin/sh\necho wrapper-ran >&2\nexit 3\n");
    await Deno.chmod(wrapper, 0o755);
    const args = ["info", "-s", "ssh://127.0.0.1:1/store", index];
    const env = { CASYNC_SSH_PATH: wrapper };
    const unread = await runCli(args, ["--allow-read", "--allow-run"], { env });
    assertEquals(unread.code, 1);
    assertEquals(unread.stderr.split("\n")[0], SSH_WARNING);
    assert(!unread.stderr.includes("wrapper-ran"), unread.stderr);
    const read = await runCli(
      args,
      ["--allow-read", "--allow-run", "--allow-env=CASYNC_SSH_PATH,CASYNC_REMOTE_PATH"],
      { env },
    );
    assertEquals(read.code, 1);
    assert(!read.stderr.includes("warning"), read.stderr);
    assertMatch(read.stderr, /wrapper-ran/);
    // A command without SSH stores has nothing to say about SSH.
    const local = await runCli(["info", index], ["--allow-read"], { env });
    assertEquals([local.code, local.stderr], [0, ""]);
  } finally {
    await removeDir(dir);
  }
});

Deno.test({
  name: "env: a 401 answer says DESYNC_HTTP_AUTH was not readable; with --allow-env it is sent",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await tempDir(t);
    const bytes = await Deno.readFile(await indexFixture(dir));
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) =>
        request.headers.get("authorization") === "Bearer sesame"
          ? new Response(bytes)
          : new Response("who are you?", { status: 401 }),
    );
    try {
      const url = `http://127.0.0.1:${server.addr.port}/blob.caibx`;
      const env = { DESYNC_HTTP_AUTH: "Bearer sesame" };
      const net = `--allow-net=127.0.0.1:${server.addr.port}`;
      const refused = await runCli(["list-chunks", url], [net], { env });
      assertEquals(refused.code, 1);
      assertEquals(
        refused.stderr.trim(),
        `desync: ${url}: cannot read index: HTTP status 401 ` +
          "(DESYNC_HTTP_AUTH is not read without --allow-env=DESYNC_HTTP_AUTH)",
      );
      const allowed = await runCli(["list-chunks", url], [net, "--allow-env=DESYNC_HTTP_AUTH"], {
        env,
      });
      assertEquals(allowed.code, 0, allowed.stderr);
      assertEquals(allowed.stdout.trim().split("\n").length > 1, true);
    } finally {
      await server.shutdown();
      await removeDir(dir);
    }
  },
});
