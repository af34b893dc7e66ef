/**
 * Hostile requests against our chunk-server and index-server, sent byte for byte
 * over TCP: path tricks, bad IDs, wrong or oversized bodies, huge headers and
 * slow clients are refused with the right status, and nothing is written.
 */
import zlib from "node:zlib";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { compressChunk } from "../../src/chunk/codec.ts";
import { LocalStore } from "../../src/store/local.ts";
import { startChunkServer } from "../../src/server/chunk_server.ts";
import { startIndexServer } from "../../src/server/index_server.ts";
import { codecTest, filesUnder, pseudoRandom } from "../helpers.ts";
import { makeChunk } from "../store/conformance.ts";

/** Sends raw bytes; returns the status of the first answer (0 if the server just closed). */
async function rawStatus(
  port: number,
  head: string,
  body: Uint8Array = new Uint8Array(),
  options: { pauseMs?: number } = {},
): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(head));
    if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    if (body.length) await conn.write(body).catch(() => 0);
    const buffer = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n")) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  } finally {
    conn.close();
  }
}

const get = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`;
const put = (path: string, length: number) =>
  `PUT ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${length}\r\n\r\n`;

codecTest(
  "hostile: bad paths, bodies and headers are refused; nothing is written",
  async (dir, codec) => {
    const store = `${dir}/store`;
    const kept = makeChunk(1);
    const local = await LocalStore.open(store, { codec, digests: ["sha512-256"], create: true });
    await local.storeChunk(kept);
    await Deno.writeTextFile(`${dir}/secret`, "secret");
    const before = filesUnder(store);
    const server = await startChunkServer({
      stores: [store],
      listen: [{ hostname: "127.0.0.1", port: 0 }],
      writable: true,
      uncompressed: false,
      maxChunkSize: 1 << 20,
    }, { codec, digests: ["sha512-256"] });
    const port = Number(new URL(server.urls[0]).port);
    try {
      const id = kept.id;
      const other = makeChunk(2);
      const path = (x: string) => `/${x.slice(0, 4)}/${x}.cacnk`;
      const cases: [string, Promise<number>, number][] = [
        ["traversal", rawStatus(port, get("/../secret")), 400],
        ["traversal in the prefix", rawStatus(port, get(`/../${id}.cacnk`)), 400],
        ["encoded traversal", rawStatus(port, get("/%2e%2e/secret")), 400],
        ["wrong prefix", rawStatus(port, get(`/0000/${id}.cacnk`)), 400],
        [
          "upper-case ID",
          rawStatus(port, get(path(id).toUpperCase().replace(".CACNK", ".cacnk"))),
          400,
        ],
        ["short ID", rawStatus(port, get(`/${id.slice(0, 4)}/${id.slice(0, 60)}.cacnk`)), 400],
        ["no suffix", rawStatus(port, get(`/${id.slice(0, 4)}/${id}`)), 400],
        ["absolute URL", rawStatus(port, get(`http://x${path(id)}x`)), 400],
        ["unknown chunk", rawStatus(port, get(path(other.id))), 404],
        ["known chunk", rawStatus(port, get(path(id))), 200],
        ["DELETE", rawStatus(port, get(path(id)).replace("GET", "DELETE")), 405],
        [
          "huge headers",
          rawStatus(port, get(path(id), `X-Big: ${"a".repeat(64 * 1024)}\r\n`)),
          431,
        ],
      ];
      for (const [what, status, want] of cases) assertEquals(await status, want, what);

      // PUT bodies: another chunk's data, garbage, a zstd bomb, too long (declared or not).
      const wrong = compressChunk(pseudoRandom(5000, 9));
      assertEquals(
        await rawStatus(port, put(path(other.id), wrong.length), wrong),
        400,
        "wrong data",
      );
      const garbage = pseudoRandom(3000, 3);
      assertEquals(
        await rawStatus(port, put(path(other.id), garbage.length), garbage),
        400,
        "garbage",
      );
      const bomb = zlib.zstdCompressSync(new Uint8Array(8 << 20));
      assert(bomb.length < 4096);
      assertEquals(await rawStatus(port, put(path(other.id), bomb.length), bomb), 400, "zstd bomb");
      assertEquals(await rawStatus(port, put(path(other.id), 2 << 20)), 413, "declared too long");
      const chunked = `PUT ${
        path(other.id)
      } HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`;
      const piece = new TextEncoder().encode(`100000\r\n${"a".repeat(0x100000)}\r\n`);
      const long = new Uint8Array(piece.length * 2);
      long.set(piece);
      long.set(piece, piece.length);
      assertEquals(await rawStatus(port, chunked, long), 413, "chunked too long");
      assertEquals(
        await rawStatus(
          port,
          put(`/0000/${other.id}.cacnk`, other.compressed!.length),
          other.compressed,
        ),
        400,
        "a right body at a wrong path",
      );
      assertEquals(filesUnder(store), before, "nothing was written");
      const right = other.compressed!;
      assertEquals(
        await rawStatus(port, put(path(other.id), right.length), right),
        201,
        "a good PUT",
      );
      assertEquals(filesUnder(store).length, before.length + 1);
    } finally {
      await server.close();
    }
  },
);

codecTest(
  "hostile: a FIFO or a directory at a chunk's name is an error for that chunk, not a hang",
  async (dir, codec) => {
    const store = `${dir}/store`;
    const kept = makeChunk(1);
    const local = await LocalStore.open(store, { codec, digests: ["sha512-256"], create: true });
    await local.storeChunk(kept);
    const path = (x: string) => `/${x.slice(0, 4)}/${x}.cacnk`;
    const fifo = makeChunk(2).id;
    const directory = makeChunk(3).id;
    await Deno.mkdir(`${store}/${fifo.slice(0, 4)}`, { recursive: true });
    const made = await new Deno.Command("mkfifo", { args: [`${store}${path(fifo)}`] }).output();
    assert(made.success, "mkfifo");
    await Deno.mkdir(`${store}${path(directory)}`, { recursive: true });
    const server = await startChunkServer({
      stores: [store],
      listen: [{ hostname: "127.0.0.1", port: 0 }],
      writable: false,
      uncompressed: false,
      maxChunkSize: 1 << 20,
    }, { codec, digests: ["sha512-256"] });
    const port = Number(new URL(server.urls[0]).port);
    try {
      for (const id of [fifo, directory]) {
        assertEquals(await rawStatus(port, get(path(id))), 502, `GET ${id}`);
        assertEquals(
          await rawStatus(port, get(path(id)).replace("GET", "HEAD")),
          502,
          `HEAD ${id}`,
        );
      }
      // The thread is still serving.
      assertEquals(await rawStatus(port, get(path(kept.id))), 200);
    } finally {
      await server.close();
    }
  },
);

codecTest("hostile: slow clients get 408 and their connections closed", async (dir, codec) => {
  const server = await startChunkServer({
    stores: [`${dir}/store`],
    listen: [{ hostname: "127.0.0.1", port: 0 }],
    writable: true,
    uncompressed: false,
    limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 },
  }, { codec, digests: ["sha512-256"] });
  const port = Number(new URL(server.urls[0]).port);
  try {
    const chunk = makeChunk(3);
    const path = `/${chunk.id.slice(0, 4)}/${chunk.id}.cacnk`;
    // Headers that never end; a body that never comes.
    const started = Date.now();
    assertEquals(await rawStatus(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n`), 408, "slow headers");
    assertEquals(await rawStatus(port, put(path, chunk.compressed!.length)), 408, "missing body");
    assert(Date.now() - started < 10_000, "timed out promptly");
    // A connection that says nothing is answered 408 and closed too.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    let said = "";
    const buffer = new Uint8Array(1024);
    for (let n; (n = await conn.read(buffer).catch(() => null)) !== null;) {
      said += new TextDecoder().decode(buffer.subarray(0, n));
    }
    conn.close();
    assertMatch(said, /^HTTP\/1\.1 408 /);
    assertEquals([...Deno.readDirSync(`${dir}/store`)], [], "nothing was written");
  } finally {
    await server.close();
  }
});

codecTest(
  "hostile: idle keep-alive connections are closed after the timeout",
  async (dir, codec) => {
    const local = await LocalStore.open(`${dir}/store`, {
      codec,
      digests: ["sha512-256"],
      create: true,
    });
    const chunk = makeChunk(4);
    await local.storeChunk(chunk);
    const server = await startChunkServer({
      stores: [`${dir}/store`],
      listen: [{ hostname: "127.0.0.1", port: 0 }],
      writable: false,
      uncompressed: false,
      limits: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 },
    }, { codec, digests: ["sha512-256"] });
    const port = Number(new URL(server.urls[0]).port);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const request = new TextEncoder().encode(
        `GET /${chunk.id.slice(0, 4)}/${chunk.id}.cacnk HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      const buffer = new Uint8Array(1 << 16);
      /** Reads one whole answer (headers and a body of Content-Length bytes). */
      const answer = async () => {
        let bytes = new Uint8Array();
        for (;;) {
          const text = new TextDecoder("latin1").decode(bytes);
          const end = text.indexOf("\r\n\r\n");
          const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? NaN);
          if (end >= 0 && bytes.length >= end + 4 + length) return text.slice(0, end);
          const n = await conn.read(buffer);
          if (n === null) return undefined;
          bytes = new Uint8Array([...bytes, ...buffer.subarray(0, n)]);
        }
      };
      // A client that keeps asking, with pauses shorter than the timeout, keeps its connection.
      let answered = 0;
      for (let i = 0; i < 3; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 600));
        await conn.write(request);
        const head = await answer();
        answered = Date.now();
        assertMatch(head ?? "", /^HTTP\/1\.1 200 /);
        // The idle timeout is announced in whole seconds, as node does.
        assertMatch(head ?? "", /\r\nKeep-Alive: timeout=1(\r\n|$)/i);
      }
      // Then it falls silent: the server closes the connection, without an answer.
      // (Should it not, the test gives up after 5 s and fails.)
      const giveUp = setTimeout(() => conn.close(), 5000);
      assertEquals(await conn.read(buffer).catch(() => null), null);
      clearTimeout(giveUp);
      const waited = Date.now() - answered;
      assert(waited >= 900 && waited < 3000, `closed after ${waited} ms idle`);
    } finally {
      try {
        conn.close();
      } catch {
        // closed on giving up
      }
      await server.close();
    }
  },
);

codecTest(
  "hostile: index-server names cannot leave its directory; PUT takes indexes only",
  async (dir) => {
    await Deno.mkdir(`${dir}/indexes/sub`, { recursive: true });
    await Deno.writeTextFile(`${dir}/secret.caibx`, "outside");
    await Deno.writeTextFile(`${dir}/indexes/.hidden.caibx`, "hidden");
    const server = await startIndexServer({
      store: `${dir}/indexes`,
      listen: [{ hostname: "127.0.0.1", port: 0 }],
      writable: true,
    });
    const port = Number(new URL(server.urls[0]).port);
    try {
      for (
        const path of [
          "/../secret.caibx",
          "/sub/../../secret.caibx",
          "/%2e%2e/secret.caibx",
          "/.hidden.caibx",
          "/x.txt",
          "//etc/x.caibx",
        ]
      ) {
        assertEquals(await rawStatus(port, get(path)), 400, path);
      }
      assertEquals(await rawStatus(port, get("/none.caibx")), 404);
      const bad = new TextEncoder().encode("not an index");
      assertEquals(
        await rawStatus(port, put("/sub/x.caibx", bad.length), bad),
        400,
        "not an index",
      );
      assertEquals(await rawStatus(port, put("/../y.caibx", bad.length), bad), 400, "escaping PUT");
      assertEquals(filesUnder(`${dir}/indexes`), [".hidden.caibx"]);
    } finally {
      await server.close();
    }
  },
);

codecTest(
  "hostile: index-server answers a FIFO, a directory or an oversized file at an index's name with 502, not a hang",
  async (dir) => {
    const indexes = `${dir}/indexes`;
    await Deno.mkdir(`${indexes}/dir.caibx`, { recursive: true });
    const made = await new Deno.Command("mkfifo", { args: [`${indexes}/fifo.caibx`] }).output();
    assert(made.success, "mkfifo");
    await Deno.writeFile(`${indexes}/huge.caibx`, new Uint8Array(2000));
    await Deno.writeFile(`${indexes}/small.caibx`, new Uint8Array(100));
    const server = await startIndexServer({
      store: indexes,
      listen: [{ hostname: "127.0.0.1", port: 0 }],
      writable: false,
      maxIndexSize: 1000,
    });
    const port = Number(new URL(server.urls[0]).port);
    try {
      for (const name of ["fifo", "dir", "huge"]) {
        assertEquals(await rawStatus(port, get(`/${name}.caibx`)), 502, `GET ${name}`);
        assertEquals(
          await rawStatus(port, get(`/${name}.caibx`).replace("GET", "HEAD")),
          502,
          `HEAD ${name}`,
        );
      }
      // Still serving; a file within the bound is served whole.
      assertEquals(await rawStatus(port, get("/small.caibx")), 200);
    } finally {
      await server.close();
    }
  },
);

codecTest(
  "hostile: uploads whose clients left while queued for a PUT slot do not hold the slots",
  async (dir, codec) => {
    const server = await startChunkServer({
      stores: [`${dir}/store`],
      listen: [{ hostname: "127.0.0.1", port: 0 }],
      writable: true,
      uncompressed: false,
    }, { codec, digests: ["sha512-256"] });
    const port = Number(new URL(server.urls[0]).port);
    const chunk = makeChunk(5);
    const path = `/${chunk.id.slice(0, 4)}/${chunk.id}.cacnk`;
    const connect = async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode(put(path, chunk.compressed!.length)));
      return conn;
    };
    const settle = () => new Promise((resolve) => setTimeout(resolve, 200));
    try {
      // Uploads that send no body hold every slot (8); as many more queue behind them and leave.
      const holders = await Promise.all(Array.from({ length: 8 }, connect));
      await settle();
      const leavers = await Promise.all(Array.from({ length: 8 }, connect));
      await settle();
      for (const conn of leavers) conn.close();
      await settle();
      for (const conn of holders) conn.close();
      await settle();
      // The slots are free again: an upload is stored (should it hang, the test gives up in 5 s).
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        rawStatus(port, put(path, chunk.compressed!.length), chunk.compressed),
        new Promise<number>((resolve) => timer = setTimeout(() => resolve(-1), 5000)),
      ]);
      clearTimeout(timer);
      assertEquals(status, 201);
    } finally {
      await server.close();
    }
  },
);

codecTest(
  "hostile: a file too large for a chunk at a chunk's name is a 502, not read whole; big chunks are served",
  async (dir, codec) => {
    const store = `${dir}/store`;
    const local = await LocalStore.open(store, { codec, digests: ["sha512-256"], create: true });
    // Larger than the server's pooled read buffers (256 KiB), compressed too.
    const big = makeChunk(6, 600 << 10);
    await local.storeChunk(big);
    const huge = makeChunk(7).id;
    const path = (x: string) => `/${x.slice(0, 4)}/${x}.cacnk`;
    await Deno.mkdir(`${store}/${huge.slice(0, 4)}`, { recursive: true });
    // Sparse: 129 MiB, more than casync's largest chunk compressed.
    await Deno.writeFile(`${store}${path(huge)}`, new Uint8Array());
    await Deno.truncate(`${store}${path(huge)}`, 129 << 20);
    const server = await startChunkServer({
      stores: [store],
      listen: [{ hostname: "127.0.0.1", port: 0 }],
      writable: false,
      uncompressed: false,
    }, { codec, digests: ["sha512-256"] });
    const port = Number(new URL(server.urls[0]).port);
    try {
      assertEquals(await rawStatus(port, get(path(huge))), 502, "GET");
      assertEquals(await rawStatus(port, get(path(huge)).replace("GET", "HEAD")), 502, "HEAD");
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${server.urls[0]}${path(big.id).slice(1)}`);
        assertEquals(response.status, 200);
        assertEquals(new Uint8Array(await response.arrayBuffer()), big.compressed);
      }
    } finally {
      await server.close();
    }
  },
);

codecTest(
  "hostile: index-server in front of an HTTP index location bounds what it reads by its index size",
  async (dir) => {
    await Deno.mkdir(`${dir}/indexes`);
    await Deno.writeFile(`${dir}/indexes/huge.caibx`, new Uint8Array(2000));
    await Deno.writeFile(`${dir}/indexes/small.caibx`, new Uint8Array(100));
    const listen = [{ hostname: "127.0.0.1", port: 0 }];
    const origin = await startIndexServer({ store: `${dir}/indexes`, listen, writable: false });
    const proxy = await startIndexServer({
      store: origin.urls[0],
      listen,
      writable: false,
      maxIndexSize: 1000,
      http: { timeoutMs: 10_000, errorRetry: 0, retryBaseMs: 10 },
    });
    const port = Number(new URL(proxy.urls[0]).port);
    try {
      assertEquals(await rawStatus(port, get("/huge.caibx")), 502);
      assertEquals(await rawStatus(port, get("/small.caibx")), 200);
    } finally {
      await proxy.close();
      await origin.close();
    }
  },
);
