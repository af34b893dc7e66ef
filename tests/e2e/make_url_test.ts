/** make writes its index where Go desync's would: standard output, or an HTTP(S) URL by PUT. */
import { assertEquals, assertMatch } from "../assert.ts";
import { pseudoRandom, removeDir, runCli, tempDir } from "../helpers.ts";

Deno.test({
  name: "make: an index URL is written with PUT, beside chunks PUT into an HTTP store",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await tempDir(t);
    const files = new Map<string, Uint8Array<ArrayBuffer>>();
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const path = new URL(req.url).pathname;
      if (req.method === "PUT") {
        if (path.startsWith("/readonly/")) return new Response("no", { status: 405 });
        files.set(path, new Uint8Array(await req.arrayBuffer()));
        return new Response(null, { status: 201 });
      }
      const body = files.get(path);
      return body ? new Response(body) : new Response("missing", { status: 404 });
    });
    try {
      const base = `http://127.0.0.1:${server.addr.port}`;
      const flags = ["--allow-read", "--allow-write", `--allow-net=127.0.0.1:${server.addr.port}`];
      await Deno.writeFile(`${dir}/blob`, pseudoRandom(500_000, 8));
      const local = await runCli(["make", "-m", "4:16:64", `${dir}/local.caibx`, `${dir}/blob`]);
      assertEquals(local.code, 0, local.stderr);
      const remote = await runCli(
        [
          "make",
          "-m",
          "4:16:64",
          "-s",
          `${base}/store/`,
          `${base}/index/blob.caibx`,
          `${dir}/blob`,
        ],
        flags,
      );
      assertEquals(remote.code, 0, remote.stderr);
      assertEquals(files.get("/index/blob.caibx"), await Deno.readFile(`${dir}/local.caibx`));
      const back = await runCli(
        ["extract", "-s", `${base}/store/`, `${base}/index/blob.caibx`, `${dir}/out`],
        flags,
      );
      assertEquals(back.code, 0, back.stderr);
      assertEquals(await Deno.readFile(`${dir}/out`), await Deno.readFile(`${dir}/blob`));
      const refused = await runCli(["make", `${base}/readonly/x.caibx`, `${dir}/blob`], flags);
      assertEquals(refused.code, 1);
      assertMatch(
        refused.stderr,
        /^desync: http:\/\/.*\/readonly\/x\.caibx: cannot write index: HTTP status 405\n$/,
      );
    } finally {
      await server.shutdown();
      await removeDir(dir);
    }
  },
});
