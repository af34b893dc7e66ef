/**
 * The config file through the CLI: bad files fail with one line naming the
 * key, store-options reach local and HTTP stores, `desync config` prints what
 * Go desync prints, and Go desync reads uncompressed stores made under the same
 * config file (and we read its).
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { pseudoRandomFast, removeDir, runCli, runTool, sha256sum, tempDir } from "../helpers.ts";
import { GO_DESYNC, GO_MISSING } from "../interop/peers.ts";

const LOCAL = ["--allow-read", "--allow-write"];

async function withDir(t: Deno.TestContext, fn: (dir: string) => Promise<void>) {
  const dir = await tempDir(t);
  try {
    await fn(dir);
  } finally {
    await removeDir(dir);
  }
}

/** A small blob, its index and store made without any config. */
async function smallStore(dir: string) {
  await Deno.writeFile(`${dir}/blob`, pseudoRandomFast(1 << 20, 5));
  const made = await runCli(["make", "-s", `${dir}/store`, `${dir}/blob.caibx`, `${dir}/blob`]);
  assertEquals(made.code, 0, made.stderr);
}

Deno.test("config: a bad file fails with exit 2 and one line naming the file and the key", async (t) => {
  await withDir(t, async (dir) => {
    await smallStore(dir);
    const cases: [unknown, RegExp][] = [
      [{ "store-options": { [`${dir}/*`]: { uncompresed: true } } }, /\.uncompresed: unknown key/],
      [
        { "store-options": { [`${dir}/*`]: { timeout: "1m" } } },
        /\.timeout: want whole nanoseconds/,
      ],
      [
        { "store-options": { [`${dir}/st*`]: {}, [`${dir}/*re`]: {} } },
        /store-options: both ".*" and ".*" match store/,
      ],
      [{ "s3-credential": {} }, /unknown key "s3-credential"/],
    ];
    for (const [json, pattern] of cases) {
      await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(json));
      const result = await runCli(
        [
          "--config",
          `${dir}/config.json`,
          "extract",
          "-s",
          `${dir}/store`,
          `${dir}/blob.caibx`,
          `${dir}/out`,
        ],
        LOCAL,
      );
      assertEquals(result.code, 2, result.stderr);
      const lines = result.stderr.trim().split("\n");
      assertEquals(lines.length, 1, result.stderr);
      assert(lines[0].startsWith(`desync: config ${dir}/config.json: `), lines[0]);
      assertMatch(lines[0], pattern);
    }
    const missing = await runCli(["--config", `${dir}/none.json`, "config"], LOCAL);
    assertEquals(missing.code, 2);
    assertMatch(missing.stderr, /^desync: config .*none\.json: cannot read: no such file/);
  });
});

Deno.test("config: $HOME/.config/desync/config.json is read when HOME may be read; flags win", async (t) => {
  await withDir(t, async (dir) => {
    await smallStore(dir);
    // An HTTP store that wants the config file's Authorization header.
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request) => {
        const path = new URL(request.url).pathname;
        if (request.headers.get("authorization") !== "Bearer from-config") {
          return new Response("no", { status: 401 });
        }
        try {
          return new Response(await Deno.readFile(`${dir}/store${path}`));
        } catch {
          return new Response("missing", { status: 404 });
        }
      },
    );
    try {
      const url = `http://127.0.0.1:${server.addr.port}/`;
      await Deno.mkdir(`${dir}/home/.config/desync`, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/home/.config/desync/config.json`,
        JSON.stringify({ "store-options": { [url]: { "http-auth": "Bearer from-config" } } }),
      );
      const flags = [...LOCAL, "--allow-net=127.0.0.1", "--allow-env=HOME"];
      const env = { HOME: `${dir}/home` };
      // --no-seed-output: each run fetches (the previous output would hold every chunk).
      const args = ["extract", "--no-seed-output", "-s", url, `${dir}/blob.caibx`, `${dir}/out`];
      const ok = await runCli(args, flags, { env });
      assertEquals(ok.code, 0, ok.stderr);
      assertEquals(await sha256sum(`${dir}/out`), await sha256sum(`${dir}/blob`));
      // A flag given on the command line overrides the file.
      const overridden = await runCli(["-e", "0", "--http-auth", "Bearer wrong", ...args], flags, {
        env,
      });
      assertEquals(overridden.code, 1);
      assertMatch(overridden.stderr, /HTTP status 401/);
      // Without permission to read HOME there is no default config file (and no prompt).
      const noHome = await runCli(["-e", "0", ...args], [...LOCAL, "--allow-net=127.0.0.1"], {
        env,
      });
      assertEquals(noHome.code, 1);
      assertMatch(noHome.stderr, /HTTP status 401/);
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test({
  name: "config: desync config prints what Go desync prints; both read uncompressed stores by it",
  ignore: Boolean(GO_MISSING),
  async fn(t) {
    await withDir(t, async (dir) => {
      const config = `${dir}/config.json`;
      await Deno.writeTextFile(
        config,
        JSON.stringify({
          "s3-credentials": {
            "https://s3.example.com": { "access-key": "a<b", "secret-key": "s" },
          },
          "store-options": {
            [`${dir}/plain*`]: { uncompressed: true, "error-retry": 2, "skip-verify": true },
            "https://cdn.example.com/*": { timeout: 30_000_000_000, "trust-insecure": true },
          },
        }),
      );
      const ours = await runCli(["--config", config, "config"], LOCAL);
      const go = await runTool(GO_DESYNC, ["--config", config, "config"]);
      assertEquals(ours.code, 0, ours.stderr);
      assertEquals(go.code, 0, go.stderr);
      // This Go build prints the JSON on stderr and a newline on stdout.
      assertEquals(ours.stdout.trim(), go.stderr.trim());

      await Deno.writeFile(`${dir}/a`, pseudoRandomFast(2 << 20, 51));
      await Deno.writeFile(`${dir}/b`, pseudoRandomFast(2 << 20, 52));
      await Deno.mkdir(`${dir}/plain-ours`);
      await Deno.mkdir(`${dir}/plain-go`);
      const made = await runCli(
        ["--config", config, "make", "-s", `${dir}/plain-ours`, `${dir}/a.caibx`, `${dir}/a`],
        LOCAL,
      );
      assertEquals(made.code, 0, made.stderr);
      const files = [...Deno.readDirSync(`${dir}/plain-ours`)].flatMap((prefix) =>
        [...Deno.readDirSync(`${dir}/plain-ours/${prefix.name}`)].map((file) => file.name)
      );
      assert(files.length > 10 && files.every((name) => /^[0-9a-f]{64}$/.test(name)), files[0]);
      const goMade = await runTool(GO_DESYNC, [
        "--config",
        config,
        "make",
        "-s",
        `${dir}/plain-go`,
        `${dir}/b.caibx`,
        `${dir}/b`,
      ]);
      assertEquals(goMade.code, 0, goMade.stderr);

      const goOut = await runTool(GO_DESYNC, [
        "--config",
        config,
        "extract",
        "-s",
        `${dir}/plain-ours`,
        `${dir}/a.caibx`,
        `${dir}/a.out`,
      ]);
      assertEquals(goOut.code, 0, goOut.stderr);
      assertEquals(await sha256sum(`${dir}/a.out`), await sha256sum(`${dir}/a`));
      const ourOut = await runCli(
        ["--config", config, "extract", "-s", `${dir}/plain-go`, `${dir}/b.caibx`, `${dir}/b.out`],
        LOCAL,
      );
      assertEquals(ourOut.code, 0, ourOut.stderr);
      assertEquals(await sha256sum(`${dir}/b.out`), await sha256sum(`${dir}/b`));
      const verified = await runCli(["--config", config, "verify", "-s", `${dir}/plain-go`], LOCAL);
      assertEquals(verified.code, 0, verified.stderr);
    });
  },
});
