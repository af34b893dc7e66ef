/** make writes its index over HTTP with PUT; the server receives exactly the local index's bytes. */
import { assertEquals } from "../assert.ts";
import { pseudoRandomFast, removeDir, runCli, tempDir } from "../helpers.ts";
import { servePuts } from "../fixtures/put_server.ts";

Deno.test("make: the index goes to an HTTP server with PUT, byte-identical to a local make", async (t) => {
  const dir = await tempDir(t);
  const server = servePuts();
  try {
    await Deno.writeFile(`${dir}/blob`, pseudoRandomFast(1 << 20, 3));
    const flags = ["--allow-read", "--allow-write", "--allow-net=127.0.0.1"];
    const url = `${server.url}/indexes/blob.caibx`;
    const remote = await runCli(["make", url, `${dir}/blob`], flags);
    assertEquals(remote.code, 0, remote.stderr);
    const local = await runCli(["make", `${dir}/blob.caibx`, `${dir}/blob`], flags);
    assertEquals(local.code, 0, local.stderr);
    assertEquals(
      server.received.get("/indexes/blob.caibx"),
      await Deno.readFile(`${dir}/blob.caibx`),
    );
  } finally {
    await server.close();
    await removeDir(dir);
  }
});
