/**
 * An index URL gets the settings of its directory (Go desync's store-options)
 * both when it is read and when it is written.
 */
import { assertEquals } from "../assert.ts";
import { encodeIndex, FLAG_SHA512_256, type Index } from "../../src/format/index.ts";
import { readIndex } from "../../src/ops/read_index.ts";
import { writeIndex } from "../../src/ops/write_index.ts";
import { DEFAULT_STORE_SETTINGS } from "../../src/store/settings.ts";
import { DEFAULT_HTTP_OPTIONS } from "../../src/util/http_client.ts";

const INDEX: Index = {
  featureFlags: FLAG_SHA512_256,
  chunkSizeMin: 16384,
  chunkSizeAvg: 65536,
  chunkSizeMax: 262144,
  chunks: [{ id: "ab".repeat(32) as Index["chunks"][0]["id"], start: 0, size: 100 }],
};

Deno.test("an index URL is read and written with its directory's settings", async () => {
  const seen: string[] = [];
  let stored: Uint8Array<ArrayBuffer> = encodeIndex(INDEX).slice();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    seen.push(`${request.method} ${request.headers.get("authorization")}`);
    if (request.headers.get("authorization") !== "Bearer dir") {
      return new Response("no", { status: 401 });
    }
    if (request.method === "PUT") {
      stored = new Uint8Array(await request.arrayBuffer());
      return new Response(null, { status: 201 });
    }
    return new Response(stored.slice());
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}/indexes`;
    const dirs: string[] = [];
    const remote = {
      settingsFor: (dir: string) => {
        dirs.push(dir);
        return Promise.resolve({
          ...DEFAULT_STORE_SETTINGS,
          http: { ...DEFAULT_HTTP_OPTIONS, errorRetry: 0, authorization: "Bearer dir" },
        });
      },
    };
    await writeIndex(`${base}/x.caibx`, INDEX, DEFAULT_HTTP_OPTIONS, undefined, remote);
    const back = await readIndex(`${base}/x.caibx`, DEFAULT_HTTP_OPTIONS, remote);
    assertEquals(back.chunks, INDEX.chunks);
    assertEquals(seen, ["PUT Bearer dir", "GET Bearer dir"]);
    assertEquals(dirs, [base, base]);
  } finally {
    await server.shutdown();
  }
});
