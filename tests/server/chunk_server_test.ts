/**
 * The store conformance suite with our HTTP store client against our own
 * chunk-server: read-only, writable, over TLS with a CA made at test time,
 * with mutual TLS, and behind an Authorization header.
 */
import { assertEquals, assertMatch, assertRejects } from "../assert.ts";
import { StoreError } from "../../src/errors.ts";
import { HttpStore } from "../../src/store/http.ts";
import { DEFAULT_HTTP_OPTIONS, type HttpOptions } from "../../src/util/http_client.ts";
import { LocalStore } from "../../src/store/local.ts";
import { startChunkServer } from "../../src/server/chunk_server.ts";
import type { TlsConfig } from "../../src/server/http_server.ts";
import { removeDir, tempDir } from "../helpers.ts";
import { makeChunk, storeConformance, type StoreFactory } from "../store/conformance.ts";
import { makeTestPki, OPENSSL_MISSING, type TestPki } from "../interop/peers.ts";
import { codecTest } from "../helpers.ts";

interface Variant {
  writable?: boolean;
  tls?: "tls" | "mutual";
  authorization?: string;
}

const LOCALHOST = [{ hostname: "127.0.0.1", port: 0 }];

/** A fresh store directory behind our chunk-server, and an HttpStore client for it. */
function served(variant: Variant): StoreFactory {
  return async (codec, digest) => {
    const dir = await tempDir();
    const local = await LocalStore.open(`${dir}/store`, { codec, digests: [digest], create: true });
    let pki: TestPki | undefined;
    let tls: TlsConfig | undefined;
    if (variant.tls) {
      pki = await makeTestPki(dir);
      tls = {
        cert: await Deno.readTextFile(pki.serverCert),
        key: await Deno.readTextFile(pki.serverKey),
        clientCa: variant.tls === "mutual" ? await Deno.readTextFile(pki.ca) : undefined,
      };
    }
    const server = await startChunkServer({
      stores: [`${dir}/store`],
      listen: LOCALHOST,
      writable: variant.writable ?? false,
      uncompressed: false,
      tls,
      authorization: variant.authorization,
    }, { codec, digests: [digest] });
    const http: HttpOptions = {
      ...DEFAULT_HTTP_OPTIONS,
      errorRetry: 0,
      caCerts: pki ? [await Deno.readTextFile(pki.ca)] : undefined,
      clientCert: variant.tls === "mutual" ? await Deno.readTextFile(pki!.clientCert) : undefined,
      clientKey: variant.tls === "mutual" ? await Deno.readTextFile(pki!.clientKey) : undefined,
      authorization: variant.authorization,
    };
    const store = new HttpStore(server.urls[0], { codec, digests: [digest], http });
    return {
      store,
      seed: (chunk) => local.storeChunk(chunk),
      corrupt: (id) => Deno.writeFile(local.chunkPath(id), new Uint8Array([9, 9, 9])),
      async cleanup() {
        await server.close();
        await removeDir(dir);
      },
    };
  };
}

storeConformance("chunk-server (read-only)", served({}));
storeConformance("chunk-server -w", served({ writable: true }), { writable: true });
storeConformance(
  "chunk-server -w --authorization",
  served({
    writable: true,
    authorization: "Bearer sesame",
  }),
  { writable: true },
);
storeConformance("chunk-server over TLS", served({ tls: "tls", writable: true }), {
  writable: true,
  ignore: OPENSSL_MISSING,
});
storeConformance("chunk-server with mutual TLS", served({ tls: "mutual", writable: true }), {
  writable: true,
  ignore: OPENSSL_MISSING,
});

codecTest(
  "chunk-server: a wrong or missing Authorization header gets 401",
  async (dir, codec) => {
    const chunk = makeChunk(1);
    const local = await LocalStore.open(`${dir}/store`, {
      codec,
      digests: ["sha512-256"],
      create: true,
    });
    await local.storeChunk(chunk);
    const server = await startChunkServer({
      stores: [`${dir}/store`],
      listen: LOCALHOST,
      writable: false,
      uncompressed: false,
      authorization: "Bearer sesame",
    }, { codec, digests: ["sha512-256"] });
    try {
      const client = (authorization?: string) =>
        new HttpStore(server.urls[0], {
          codec,
          digests: ["sha512-256"],
          http: { ...DEFAULT_HTTP_OPTIONS, errorRetry: 0, authorization },
        });
      for (const wrong of [undefined, "Bearer sesam", "Bearer sesame2", "bearer sesame"]) {
        const store = client(wrong);
        const error = await assertRejects(() => store.getChunk(chunk.id), StoreError);
        assertMatch(error.message, /HTTP status 401/);
        await store.close();
      }
      const right = client("Bearer sesame");
      assertEquals((await right.getChunk(chunk.id)).plain, chunk.plain);
      await right.close();
    } finally {
      await server.close();
    }
  },
);

Deno.test({
  name: "chunk-server: mutual TLS refuses a client without a certificate or with a stranger's",
  ignore: Boolean(OPENSSL_MISSING),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = await tempDir(t);
    const { CodecPool } = await import("../../src/chunk/codec_pool.ts");
    const codec = new CodecPool(1);
    try {
      const pki = await makeTestPki(dir);
      await Deno.mkdir(`${dir}/other`);
      const stranger = await makeTestPki(`${dir}/other`);
      const chunk = makeChunk(2);
      const local = await LocalStore.open(`${dir}/store`, {
        codec,
        digests: ["sha512-256"],
        create: true,
      });
      await local.storeChunk(chunk);
      const server = await startChunkServer({
        stores: [`${dir}/store`],
        listen: LOCALHOST,
        writable: false,
        uncompressed: false,
        tls: {
          cert: await Deno.readTextFile(pki.serverCert),
          key: await Deno.readTextFile(pki.serverKey),
          clientCa: await Deno.readTextFile(pki.ca),
        },
      }, { codec, digests: ["sha512-256"] });
      try {
        const client = async (who?: TestPki) =>
          new HttpStore(server.urls[0], {
            codec,
            digests: ["sha512-256"],
            http: {
              ...DEFAULT_HTTP_OPTIONS,
              errorRetry: 0,
              timeoutMs: 5000,
              caCerts: [await Deno.readTextFile(pki.ca)],
              clientCert: who ? await Deno.readTextFile(who.clientCert) : undefined,
              clientKey: who ? await Deno.readTextFile(who.clientKey) : undefined,
            },
          });
        for (const who of [undefined, stranger]) {
          const store = await client(who);
          const refused = await assertRejects(() => store.getChunk(chunk.id), StoreError);
          // The server only cuts the handshake (or sends an alert): the message says why it may.
          assertMatch(refused.message, /client certificate/);
          await store.close();
        }
        const known = await client(pki);
        assertEquals((await known.getChunk(chunk.id)).plain, chunk.plain);
        await known.close();
      } finally {
        await server.close();
      }
    } finally {
      codec.close();
      await removeDir(dir);
    }
  },
});
