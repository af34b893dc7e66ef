/** HttpTransport's body bound, and index reads refusing what cannot be an index. */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { DesyncError } from "../../src/errors.ts";
import { HttpBodyTooLarge, HttpTransport } from "../../src/util/http_client.ts";
import { readIndex } from "../../src/ops/read_index.ts";
import { maxStoredChunkSize } from "../../src/format/store_layout.ts";
import { removeDir, tempDir } from "../helpers.ts";

const OPTIONS = { timeoutMs: 5000, errorRetry: 2, retryBaseMs: 1 };

async function withServer(
  handler: (request: Request) => Response | Promise<Response>,
  fn: (url: string) => Promise<void>,
) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("http: a body past maxBytes is cut off and not retried; one at the bound is read", async () => {
  let requests = 0;
  let streamed = 0;
  await withServer((request) => {
    requests++;
    const size = Number(new URL(request.url).searchParams.get("size"));
    if (new URL(request.url).pathname === "/declared") {
      return new Response(new Uint8Array(size));
    }
    // No declared length: an endless stream, as far as the client can tell.
    return new Response(
      new ReadableStream({
        pull(controller) {
          streamed += 16384;
          controller.enqueue(new Uint8Array(16384));
        },
      }),
    );
  }, async (url) => {
    const transport = new HttpTransport(OPTIONS);
    try {
      const ok = await transport.request("GET", `${url}declared?size=1000`, { maxBytes: 1000 });
      assertEquals(ok.body.length, 1000);
      requests = 0;
      await assertRejects(
        () => transport.request("GET", `${url}declared?size=1001`, { maxBytes: 1000 }),
        HttpBodyTooLarge,
      );
      await assertRejects(
        () => transport.request("GET", `${url}endless`, { maxBytes: 100_000 }),
        HttpBodyTooLarge,
        "exceeds 100000 bytes",
      );
      assertEquals(requests, 2, "neither was retried");
      assert(streamed < 16 << 20, `reading stopped early (${streamed} bytes streamed)`);
    } finally {
      transport.close();
    }
  });
});

Deno.test("the chunk bound covers zstd's worst case", () => {
  // ZSTD_COMPRESSBOUND(n) = n + n/256 + (n < 128 KiB ? (128 KiB - n) / 2048 : 0).
  for (const n of [1, 1000, 64 << 10, 128 << 10, 256 << 10, 128 << 20]) {
    const zstd = n + (n >> 8) + (n < 128 << 10 ? ((128 << 10) - n) >> 11 : 0);
    assert(maxStoredChunkSize(n) >= zstd, `${n}`);
    assert(maxStoredChunkSize(n) <= zstd + 4096, `${n}: not much more`);
  }
});

Deno.test("an index larger than the bound is refused before it is read", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeFile(`${dir}/big.caibx`, new Uint8Array(5000));
    await assertRejects(
      () => readIndex(`${dir}/big.caibx`, undefined, {}, { maxBytes: 4096 }),
      DesyncError,
      "larger than 4096 bytes",
    );
    await withServer(() => new Response(new Uint8Array(5000)), async (url) => {
      await assertRejects(
        () => readIndex(`${url}x.caibx`, OPTIONS, {}, { maxBytes: 4096 }),
        DesyncError,
        "larger than 4096 bytes",
      );
    });
  } finally {
    await removeDir(dir);
  }
});

Deno.test("http: a 408 (the server gave up waiting for the request) is retried like a 5xx", async () => {
  let requests = 0;
  await withServer(() => {
    requests++;
    return requests === 1
      ? new Response("request timeout", { status: 408 })
      : new Response(new Uint8Array(10));
  }, async (url) => {
    const transport = new HttpTransport({ ...OPTIONS, errorRetry: 1 });
    try {
      const answer = await transport.request("GET", `${url}chunk`);
      assertEquals([answer.status, answer.body.length, requests], [200, 10, 2]);
    } finally {
      transport.close();
    }
  });
});

Deno.test("http: a timeout longer than a timer can wait is no limit, for fetch() requests as for plain GETs", async () => {
  // A timer asked to wait past 2^31 - 1 ms fires after 1 ms: such a timeout must not end
  // every request at once (the CLI cuts --timeout to that bound; a library caller may not).
  await withServer(async (request) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return new Response(request.method === "PUT" ? null : "late", {
      status: request.method === "PUT" ? 201 : 200,
    });
  }, async (url) => {
    const transport = new HttpTransport({ timeoutMs: 2 ** 33, errorRetry: 0, retryBaseMs: 1 });
    try {
      for (const method of ["GET", "HEAD", "PUT"] as const) {
        const body = method === "PUT" ? new Uint8Array(3) : undefined;
        const answer = await transport.request(method, `${url}x`, { body });
        assertEquals(answer.status, method === "PUT" ? 201 : 200, method);
      }
    } finally {
      transport.close();
    }
  });
});
