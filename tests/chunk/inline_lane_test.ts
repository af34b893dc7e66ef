import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { assert, assertBytesEqual, assertEquals, assertRejects } from "../assert.ts";
import { CodecPool, type CodecReply, type CodecRequest } from "../../src/chunk/codec_pool.ts";
import { InlineLane } from "../../src/chunk/inline_lane.ts";
import { ChunkDataError } from "../../src/chunk/errors.ts";
import { parseChunkId } from "../../src/format/chunk_id.ts";
import { pseudoRandom, removeDir, tempDir } from "../helpers.ts";

const sha512_256 = (data: Uint8Array) => createHash("sha512-256").update(data).digest("hex");

Deno.test("an inline-only pool runs jobs on this thread, with no worker", async () => {
  const pool = new CodecPool(1, { inline: true });
  try {
    assertEquals(pool.size, 1);
    const data = pseudoRandom(100_000, 3);
    assertEquals(await pool.hash(data, "sha512-256"), sha512_256(data));
    // zstd's own decoder says what the frame holds; the lane must hand back the same.
    const encoded = await pool.encode(data, "sha512-256");
    assertBytesEqual(new Uint8Array(zlib.zstdDecompressSync(encoded.compressed)), data);
    const { plain } = await pool.decode(encoded.compressed.slice(), encoded.id, ["sha512-256"]);
    assertBytesEqual(plain, data);
  } finally {
    pool.close();
  }
});

Deno.test({
  name: "jobs spread over the inline lane and a worker all come back right",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pool = new CodecPool(2, { inline: true });
    try {
      const pieces = Array.from({ length: 40 }, (_, i) => pseudoRandom(20_000 + i, i + 1));
      const ids = await Promise.all(pieces.map((piece) => pool.hash(piece, "sha512-256")));
      assertEquals(ids, pieces.map(sha512_256));
    } finally {
      pool.close();
    }
  },
});

Deno.test("the inline lane moves transferred buffers as postMessage does, and copies the rest", async () => {
  const pool = new CodecPool(1, { inline: true });
  const dir = await tempDir();
  try {
    const output = `${dir}/out`;
    await Deno.writeFile(output, new Uint8Array(8));
    const owned = new Uint8Array([1, 2, 3, 4]);
    await pool.place({ data: owned, output, offsets: [2] });
    assertEquals(owned.buffer.byteLength, 0, "a buffer the job owns whole is moved (detached)");
    const whole = new Uint8Array([9, 9, 5, 6, 9]);
    const view = whole.subarray(2, 4);
    await pool.place({ data: view, output, offsets: [6] });
    assertEquals(Array.from(whole), [9, 9, 5, 6, 9], "a view into a larger buffer is copied");
    await pool.closeFiles();
    assertEquals(Array.from(await Deno.readFile(output)), [0, 0, 1, 2, 3, 4, 5, 6]);
  } finally {
    pool.close();
    await removeDir(dir);
  }
});

Deno.test("a chunk that does not hash to its ID fails as a data error on the inline lane", async () => {
  const pool = new CodecPool(1, { inline: true });
  try {
    const data = pseudoRandom(5000, 7);
    const frame = new Uint8Array(zlib.zstdCompressSync(data));
    const wrong = parseChunkId(sha512_256(new Uint8Array(5000)));
    await assertRejects(() => pool.decode(frame, wrong, ["sha512-256"]), ChunkDataError);
  } finally {
    pool.close();
  }
});

Deno.test("closing a pool fails its queued inline jobs and refuses new ones", async () => {
  const pool = new CodecPool(1, { inline: true });
  const queued = Array.from({ length: 5 }, () => pool.hash(pseudoRandom(10_000), "sha512-256"));
  pool.close();
  for (const job of queued) await assertRejects(() => job, Error, "codec pool closed");
  await assertRejects(() => pool.hash(new Uint8Array(1), "sha512-256"), Error, "closed");
  assert(true);
});

Deno.test("a closed pool's inline lane lets go of its files: a later pool reads a file anew", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir}/blob`;
    const first = pseudoRandom(4096, 11);
    await Deno.writeFile(path, first);
    const job = { path, offset: 0, size: 4096, digest: "sha512-256", mode: "hash" } as const;
    const before = new CodecPool(1, { inline: true });
    try {
      assertEquals((await before.piece(job)).id, sha512_256(first));
      // Closed without closeFiles, as a stopped or failed command's pool is.
    } finally {
      before.close();
    }
    // The file is replaced (a new version renamed over it), as a blob or seed may be.
    const second = pseudoRandom(4096, 12);
    await Deno.writeFile(`${dir}/new`, second);
    await Deno.rename(`${dir}/new`, path);
    const after = new CodecPool(1, { inline: true });
    try {
      assertEquals((await after.piece(job)).id, sha512_256(second), "read the replaced file");
      await after.closeFiles();
    } finally {
      after.close();
    }
  } finally {
    await removeDir(dir);
  }
});

Deno.test("an inline lane whose jobs cannot load fails each job with the reason", async () => {
  const replies: CodecReply[] = [];
  const lane = new InlineLane(
    (reply) => replies.push(reply),
    () => Promise.reject(new Error("no such module")),
  );
  try {
    lane.postMessage({ seq: 7, op: "hash", data: new Uint8Array(3), digest: "sha512-256" });
    for (let i = 0; i < 50 && replies.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assertEquals(replies, [{
      seq: 7,
      ok: false,
      kind: "other",
      message: "the codec cannot load: no such module",
    }]);
  } finally {
    lane.terminate();
  }
});

Deno.test({
  name: "closing a pool ends its inline lane's fetches that wait on a silent server",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // A server that takes connections and never answers.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const conns: Deno.Conn[] = [];
    const closedByClient = new Promise<void>((resolve) => {
      (async () => {
        for await (const conn of listener) {
          conns.push(conn);
          // A read that ends (0 bytes or an error) means the client let go.
          const buffer = new Uint8Array(4096);
          (async () => {
            try {
              while ((await conn.read(buffer)) !== null) { /* the request */ }
            } catch { /* reset */ }
            resolve();
          })();
        }
      })().catch(() => {});
    });
    const pool = new CodecPool(1, { inline: true });
    const id = parseChunkId("ab".repeat(32));
    const job = pool.fetchPlace({
      http: { timeoutMs: 60_000, errorRetry: 0, retryBaseMs: 1 },
      maxBytes: 1000,
      compressed: true,
      items: [{ url: `http://127.0.0.1:${listener.addr.port}/x`, id, size: 10, offsets: [0] }],
      digests: ["sha512-256"],
      output: "/nonexistent/out",
      concurrency: 1,
    });
    job.catch(() => {});
    while (conns.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const started = performance.now();
    pool.close();
    await closedByClient;
    assert(performance.now() - started < 2000, "the request should end when the pool closes");
    await assertRejects(() => job, Error, "closed");
    listener.close();
    for (const conn of conns) conn.close();
  },
});

Deno.test("a lane closed while its jobs load runs none of the jobs it was given", async () => {
  const ran: string[] = [];
  let loaded!: () => void;
  const loading = new Promise<void>((resolve) => loaded = resolve);
  const replies: CodecReply[] = [];
  const lane = new InlineLane((reply) => replies.push(reply), async () => {
    await loading;
    return {
      respond: (job: CodecRequest) => {
        ran.push(job.op);
        return Promise.resolve({ reply: { seq: job.seq, ok: true }, transfer: [] });
      },
    };
  });
  lane.postMessage({ seq: 1, op: "hash", data: new Uint8Array(3), digest: "sha512-256" });
  // The job has started to wait for the load when the lane is closed.
  await new Promise((resolve) => setTimeout(resolve, 20));
  lane.terminate();
  loaded();
  await new Promise((resolve) => setTimeout(resolve, 20));
  // Only the closing of the files the jobs opened, as when a job had run.
  assertEquals(ran, ["close-files"]);
  assertEquals(replies, []);
});

Deno.test("a lane that ran no job answers close-files without loading its jobs", async () => {
  let loads = 0;
  const replies: CodecReply[] = [];
  const lane = new InlineLane((reply) => replies.push(reply), () => {
    loads++;
    return Promise.reject(new Error("must not load"));
  });
  try {
    lane.postMessage({ seq: 4, op: "close-files" });
    for (let i = 0; i < 50 && replies.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assertEquals(replies, [{ seq: 4, ok: true }]);
    assertEquals(loads, 0);
  } finally {
    lane.terminate();
  }
});
