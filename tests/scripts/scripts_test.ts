/** The demo and the benchmark keep working (tiny sizes; the figures themselves live in the bench). */
import { assertEquals, assertMatch } from "../assert.ts";
import { REPO, runTool } from "../helpers.ts";
import { CASYNC_MISSING } from "../interop/casync_fixture.ts";
import { NGINX_MISSING } from "../interop/peers.ts";

Deno.test("deno task demo rebuilds its blob identically", async () => {
  const result = await runTool(Deno.execPath(), ["task", "--quiet", "demo"], { cwd: REPO });
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stdout, /output identical: true/);
});

Deno.test({
  name: "deno task bench prints a ratio for each operation",
  ignore: Boolean(CASYNC_MISSING),
  async fn() {
    const args = [
      "task",
      "--quiet",
      "bench",
      "--size",
      "2",
      "--rounds",
      "1",
      "--only",
      "extract,make",
      "--data",
      "random",
    ];
    const result = await runTool(Deno.execPath(), args, { cwd: REPO });
    assertEquals(result.code, 0, result.stderr);
    assertMatch(result.stdout, /extract local \[random\]: desync is \d+\.\d\dx casync's speed/);
    assertMatch(result.stdout, /make \(fresh store\) \[random\]: desync is \d+\.\d\dx casync's/);
  },
});

Deno.test({
  name: "deno task bench --only server compares our chunk-server with nginx and Go desync",
  ignore: Boolean(CASYNC_MISSING || NGINX_MISSING),
  async fn() {
    const args = ["task", "--quiet", "bench", "--size", "2", "--only", "server"];
    const result = await runTool(Deno.execPath(), [
      ...args,
      "--seconds",
      "1",
      "--clients",
      "4",
      "--load",
      "deno",
    ], {
      cwd: REPO,
    });
    assertEquals(result.code, 0, result.stderr);
    assertMatch(result.stdout, /^desync \(\d+ threads?\)\s+\d+\s+\d+\s+[\d.]+\s+0\s+[\d.]+\s/m);
    assertMatch(
      result.stdout,
      /chunk-server: ours serves \d+% of nginx \(1 worker\)'s requests\/s/,
    );
  },
});
