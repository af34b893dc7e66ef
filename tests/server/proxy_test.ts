/**
 * chunk-server as a caching proxy (an HTTP store upstream, a local cache) and
 * serving uncompressed chunks (-u).
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { decompressChunk } from "../../src/chunk/codec.ts";
import { LocalStore } from "../../src/store/local.ts";
import { startChunkServer } from "../../src/server/chunk_server.ts";
import { codecTest } from "../helpers.ts";
import { makeChunk } from "../store/conformance.ts";

const LOCALHOST = [{ hostname: "127.0.0.1", port: 0 }];
const chunkPath = (id: string, suffix = ".cacnk") => `${id.slice(0, 4)}/${id}${suffix}`;

codecTest(
  "proxy: upstream chunks are verified, cached once, and a bad one is neither served nor cached",
  async (dir, codec) => {
    const digests = ["sha512-256"] as const;
    const upstreamStore = await LocalStore.open(`${dir}/up`, { codec, digests, create: true });
    const good = makeChunk(31);
    const bad = makeChunk(32);
    await upstreamStore.storeChunk(good);
    await upstreamStore.storeChunk(bad);
    await Deno.writeFile(upstreamStore.chunkPath(bad.id), makeChunk(33).compressed!);
    // A slow upstream that counts what it is asked, so concurrent requests can be seen shared.
    const asked: string[] = [];
    const upstream = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request) => {
        const path = new URL(request.url).pathname;
        asked.push(path);
        await new Promise((resolve) => setTimeout(resolve, 200));
        try {
          return new Response(await Deno.readFile(`${dir}/up${path}`) as BodyInit);
        } catch {
          return new Response("no", { status: 404 });
        }
      },
    );
    const errors: string[] = [];
    const proxy = await startChunkServer({
      stores: [`http://127.0.0.1:${upstream.addr.port}/`],
      cache: `${dir}/cache`,
      listen: LOCALHOST,
      writable: false,
      uncompressed: false,
    }, { codec, digests, http: { timeoutMs: 5000, errorRetry: 0, retryBaseMs: 10 } });
    const original = console.error;
    console.error = (line: string) => errors.push(line);
    try {
      const get = (id: string) => fetch(`${proxy.urls[0]}${chunkPath(id)}`);
      const answers = await Promise.all([1, 2, 3, 4, 5].map(() => get(good.id)));
      for (const answer of answers) {
        assertEquals(answer.status, 200);
        assertEquals(new Uint8Array(await answer.arrayBuffer()), good.compressed);
      }
      assertEquals(asked, [`/${chunkPath(good.id)}`], "five requests, one upstream fetch");
      assertEquals(
        await Deno.readFile(`${dir}/cache/${chunkPath(good.id)}`),
        await Deno.readFile(upstreamStore.chunkPath(good.id)),
      );

      const refused = await get(bad.id);
      assertEquals(refused.status, 502);
      await refused.body?.cancel();
      assertMatch(errors.join("\n"), new RegExp(`chunk ${bad.id} in store http://.* is invalid`));
      const missing = await get(makeChunk(34).id);
      assertEquals(missing.status, 404);
      await missing.body?.cancel();
      const cached = [...Deno.readDirSync(`${dir}/cache`)].map((e) => e.name);
      assertEquals(cached, [good.id.slice(0, 4)], "only the good chunk was cached");

      await upstream.shutdown();
      const fromCache = await get(good.id);
      assertEquals(fromCache.status, 200, "served from the cache without the upstream");
      assertEquals(new Uint8Array(await fromCache.arrayBuffer()), good.compressed);
    } finally {
      console.error = original;
      await proxy.close();
      await upstream.shutdown().catch(() => {});
    }
  },
);

codecTest(
  "chunk-server -u: plain chunks at /<4 hex>/<id>, decoded from a compressed store",
  async (dir, codec) => {
    const digests = ["sha512-256"] as const;
    const store = await LocalStore.open(`${dir}/store`, { codec, digests, create: true });
    const chunk = makeChunk(41);
    await store.storeChunk(chunk);
    const server = await startChunkServer({
      stores: [`${dir}/store`],
      listen: LOCALHOST,
      writable: true,
      uncompressed: true,
    }, { codec, digests });
    try {
      const url = (id: string, suffix = "") => `${server.urls[0]}${chunkPath(id, suffix)}`;
      const plain = await fetch(url(chunk.id));
      assertEquals(plain.status, 200);
      assertEquals(new Uint8Array(await plain.arrayBuffer()), chunk.plain);
      const compressedPath = await fetch(url(chunk.id, ".cacnk"));
      assertEquals(compressedPath.status, 400);
      await compressedPath.body?.cancel();

      const other = makeChunk(42);
      const wrong = await fetch(url(other.id), { method: "PUT", body: chunk.plain as BodyInit });
      assertEquals(wrong.status, 400);
      assertMatch(await wrong.text(), /hashes to/);
      const put = await fetch(url(other.id), { method: "PUT", body: other.plain as BodyInit });
      assertEquals(put.status, 201, await put.text());
      // Stored the way every store holds chunks: a zstd frame under <id>.cacnk.
      const file = await Deno.readFile(store.chunkPath(other.id));
      assert(file.length > 0);
      assertEquals(decompressChunk(file), other.plain);
    } finally {
      await server.close();
    }
  },
);
