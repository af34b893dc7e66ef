/**
 * More hostile clients against chunk-server and index-server, byte for byte over
 * TCP: uploads cut off mid-body leave nothing in the store and are not taken
 * for failures of the server's own.
 */
import { assertEquals } from "../assert.ts";
import { startChunkServer } from "../../src/server/chunk_server.ts";
import { startIndexServer } from "../../src/server/index_server.ts";
import { codecTest, filesUnder } from "../helpers.ts";
import { makeChunk } from "../store/conformance.ts";

const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` with console.error collected instead of printed. */
async function collectingStderr(fn: () => Promise<void>): Promise<string[]> {
  const said: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void said.push(args.join(" "));
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return said;
}

codecTest(
  "hostile: a PUT cut off mid-body stores nothing and is no failure of the server's",
  async (dir, codec) => {
    const store = `${dir}/store`;
    const chunk = makeChunk(11, 200_000);
    const body = chunk.compressed!;
    const path = `/${chunk.id.slice(0, 4)}/${chunk.id}.cacnk`;
    const said = await collectingStderr(async () => {
      const server = await startChunkServer({
        stores: [store],
        listen: [{ hostname: "127.0.0.1", port: 0 }],
        writable: true,
        uncompressed: false,
      }, { codec, digests: ["sha512-256"] });
      const port = Number(new URL(server.urls[0]).port);
      try {
        for (const chunked of [false, true]) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          const head = `PUT ${path} HTTP/1.1\r\nHost: x\r\n` +
            (chunked
              ? "Transfer-Encoding: chunked\r\n\r\n"
              : `Content-Length: ${body.length}\r\n\r\n`);
          await conn.write(new TextEncoder().encode(head));
          const half = body.subarray(0, body.length >> 1);
          if (chunked) {
            await conn.write(new TextEncoder().encode(`${half.length.toString(16)}\r\n`));
          }
          await conn.write(half);
          await settle();
          conn.close();
          await settle();
        }
      } finally {
        await server.close();
      }
    });
    assertEquals(said, [], "nothing reported on stderr");
    assertEquals(filesUnder(store), [], "nothing stored, no temporary file");
  },
);

codecTest(
  "hostile: an index PUT cut off mid-body writes nothing and is no failure of the server's",
  async (dir) => {
    await Deno.mkdir(`${dir}/indexes`);
    const said = await collectingStderr(async () => {
      const server = await startIndexServer({
        store: `${dir}/indexes`,
        listen: [{ hostname: "127.0.0.1", port: 0 }],
        writable: true,
      });
      const port = Number(new URL(server.urls[0]).port);
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(
          new TextEncoder().encode(
            "PUT /sub/x.caibx HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
              "a".repeat(1000),
          ),
        );
        await settle();
        conn.close();
        await settle();
      } finally {
        await server.close();
      }
    });
    assertEquals(said, [], "nothing reported on stderr");
    assertEquals(filesUnder(`${dir}/indexes`), [], "nothing written");
  },
);
