/** make writes its index over HTTP with PUT; the server receives exactly the local index's bytes. */
import { assertEquals } from "../assert.ts";
import { pseudoRandomFast, removeDir, runCli, tempDir } from "../helpers.ts";

Deno.test("make: the index goes to an HTTP server with PUT, byte-identical to a local make", async (t) => {
  const dir = await tempDir(t);
  const received = new Map<string, Uint8Array>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    if (request.method !== "PUT") return new Response("no", { status: 405 });
    received.set(new URL(request.url).pathname, new Uint8Array(await request.arrayBuffer()));
    return new Response(null, { status: 201 });
  });
  try {
    await Deno.writeFile(`${dir}/blob`, pseudoRandomFast(1 << 20, 3));
    const flags = ["--allow-read", "--allow-write", "--allow-net=127.0.0.1"];
    const url = `http://127.0.0.1:${server.addr.port}/indexes/blob.caibx`;
    const remote = await runCli(["make", url, `${dir}/blob`], flags);
    assertEquals(remote.code, 0, remote.stderr);
    const local = await runCli(["make", `${dir}/blob.caibx`, `${dir}/blob`], flags);
    assertEquals(local.code, 0, local.stderr);
    assertEquals(received.get("/indexes/blob.caibx"), await Deno.readFile(`${dir}/blob.caibx`));
  } finally {
    await server.shutdown();
    await removeDir(dir);
  }
});
