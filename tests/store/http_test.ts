/**
 * The HTTP store against servers that misbehave on purpose (in-process
 * Deno.serve): failing first requests, wrong bytes, demanding authorization.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { compressChunk } from "../../src/chunk/codec.ts";
import { pseudoRandom, removeDir, runCli, tempDir } from "../helpers.ts";
import { encodeIndex, FLAG_SHA512_256 } from "../../src/format/index.ts";
import { createHash } from "node:crypto";
import type { ChunkId } from "../../src/format/chunk_id.ts";

const HTTP_FLAGS = ["--allow-read", "--allow-write", "--allow-net=127.0.0.1"];

interface Served {
  dir: string;
  index: string;
  blob: Uint8Array;
  ids: ChunkId[];
  frames: Map<string, Uint8Array>;
}

/** A 5-chunk blob, its index on disk and its chunk frames by URL path. */
async function fixture(dir: string): Promise<Served> {
  const blob = pseudoRandom(50_000, 77);
  const frames = new Map<string, Uint8Array>();
  const chunks = [];
  const ids: ChunkId[] = [];
  for (let start = 0; start < blob.length; start += 10_000) {
    const plain = blob.subarray(start, start + 10_000);
    const id = createHash("sha512-256").update(plain).digest("hex") as ChunkId;
    frames.set(`/store/${id.slice(0, 4)}/${id}.cacnk`, compressChunk(plain));
    chunks.push({ id, start, size: plain.length });
    ids.push(id);
  }
  const index = `${dir}/blob.caibx`;
  await Deno.writeFile(
    index,
    encodeIndex({
      featureFlags: FLAG_SHA512_256,
      chunkSizeMin: 1000,
      chunkSizeAvg: 10_000,
      chunkSizeMax: 40_000,
      chunks,
    }),
  );
  return { dir, index, blob, ids, frames };
}

async function withServer(
  t: Deno.TestContext,
  handler: (request: Request, served: Served) => Response | Promise<Response>,
  fn: (url: string, served: Served) => Promise<void>,
) {
  const dir = await tempDir(t);
  const served = await fixture(dir);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => handler(request, served),
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/store/`, served);
  } finally {
    await server.shutdown();
    await removeDir(dir);
  }
}

function serveFrame(request: Request, served: Served): Response {
  const frame = served.frames.get(new URL(request.url).pathname);
  if (!frame) return new Response("not found", { status: 404 });
  return new Response(request.method === "HEAD" ? null : frame as BodyInit);
}

Deno.test("http: a server failing the first requests is survived with -e", async (t) => {
  let failures = 0;
  await withServer(t, (request, served) => {
    if (failures < 4) {
      failures++;
      return new Response("busy", { status: 503 });
    }
    return serveFrame(request, served);
  }, async (url, served) => {
    const out = `${served.dir}/out`;
    const gaveUp = await runCli(["extract", "-e", "0", "-s", url, served.index, out], HTTP_FLAGS);
    assertEquals(gaveUp.code, 1);
    assertMatch(
      gaveUp.stderr,
      /store http:\/\/127\.0\.0\.1:\d+\/store\/: GET chunk [0-9a-f]{64}: HTTP status 503/,
    );
    failures = 0;
    const args = ["extract", "-n", "1", "-e", "5", "-b", "10ms", "-s", url, served.index, out];
    const survived = await runCli(args, HTTP_FLAGS);
    assertEquals(survived.code, 0, survived.stderr);
    assertEquals(await Deno.readFile(out), served.blob);
    assertEquals(failures, 4);
  });
});

Deno.test("http: a server returning wrong bytes for a chunk fails naming the chunk", async (t) => {
  await withServer(t, (request, served) => {
    if (new URL(request.url).pathname.includes(served.ids[2])) {
      return new Response(compressChunk(pseudoRandom(10_000, 5)) as BodyInit);
    }
    return serveFrame(request, served);
  }, async (url, served) => {
    const result = await runCli(
      ["extract", "-s", url, served.index, `${served.dir}/out`],
      HTTP_FLAGS,
    );
    assertEquals(result.code, 1);
    assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
    assertMatch(result.stderr, new RegExp(`chunk ${served.ids[2]} in store ${url} is invalid`));
  });
});

Deno.test("http: the Authorization header comes from --http-auth or DESYNC_HTTP_AUTH", async (t) => {
  const seen: (string | null)[] = [];
  await withServer(t, (request, served) => {
    seen.push(request.headers.get("authorization"));
    if (request.headers.get("authorization") !== "Bearer sesame") {
      return new Response("no", { status: 401 });
    }
    return serveFrame(request, served);
  }, async (url, served) => {
    const out = `${served.dir}/out`;
    const denied = await runCli(["extract", "-s", url, served.index, out], HTTP_FLAGS);
    assertEquals(denied.code, 1);
    assertMatch(denied.stderr, /HTTP status 401/);
    const flag = await runCli(
      ["extract", "--http-auth", "Bearer sesame", "-s", url, served.index, out],
      HTTP_FLAGS,
    );
    assertEquals(flag.code, 0, flag.stderr);
    const env = await runCli(
      ["extract", "-s", url, served.index, out],
      [...HTTP_FLAGS, "--allow-env=DESYNC_HTTP_AUTH"],
      { env: { DESYNC_HTTP_AUTH: "Bearer sesame" } },
    );
    assertEquals(env.code, 0, env.stderr);
    assert(seen.includes("Bearer sesame"));
  });
});

Deno.test("http: an index is read from a URL; a 404 index names the URL", async (t) => {
  await withServer(t, async (request, served) => {
    if (new URL(request.url).pathname === "/blob.caibx") {
      return new Response(await Deno.readFile(served.index) as BodyInit);
    }
    return serveFrame(request, served);
  }, async (url, served) => {
    const base = url.replace(/store\/$/, "");
    const listed = await runCli(["list-chunks", `${base}blob.caibx`], [
      "--allow-read",
      "--allow-net=127.0.0.1",
    ]);
    assertEquals(listed.code, 0, listed.stderr);
    assertEquals(listed.stdout.trim().split("\n"), served.ids);
    const missing = await runCli(["list-chunks", `${base}nope.caibx`], [
      "--allow-read",
      "--allow-net=127.0.0.1",
    ]);
    assertEquals(missing.code, 1);
    assertMatch(missing.stderr, /nope\.caibx: cannot read index: HTTP status 404/);
  });
});
