import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { assert, assertBytesEqual, assertEquals } from "../assert.ts";
import { CodecPool, MISSING } from "../../src/chunk/codec_pool.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { chunkFilePath, uncompressedPath } from "../../src/format/store_layout.ts";
import { pseudoRandom, removeDir, tempDir } from "../helpers.ts";

const idOf = (plain: Uint8Array) => createHash("sha512-256").update(plain).digest("hex") as ChunkId;

Deno.test({
  name: "readChunk: a lane reads, decodes and verifies a store's chunk file, in either form",
  sanitizeResources: false,
  async fn() {
    const dir = await tempDir();
    const pool = new CodecPool(1);
    try {
      const plain = pseudoRandom(70_000, 5);
      const id = idOf(plain);
      const path = chunkFilePath(dir, id);
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      const frame = new Uint8Array(zlib.zstdCompressSync(plain));
      await Deno.writeFile(path, frame);
      const job = { path, id, digests: ["sha512-256"] as const, maxBytes: 1 << 20 };

      const found = await pool.readChunk(job);
      assert(found !== MISSING && "plain" in found);
      assertBytesEqual(found.plain, plain);
      // The file's bytes come back too, for a cache to store as they are.
      assertBytesEqual(found.zstd!, frame);

      // Go desync's uncompressed `<id>` beside it: the plain data, no frame.
      await Deno.remove(path);
      await Deno.writeFile(uncompressedPath(path), plain);
      const plainFile = await pool.readChunk(job);
      assert(plainFile !== MISSING && "plain" in plainFile);
      assertBytesEqual(plainFile.plain, plain);
      assertEquals(plainFile.zstd, undefined);

      await Deno.remove(uncompressedPath(path));
      assertEquals(await pool.readChunk(job), MISSING);
    } finally {
      pool.close();
      await removeDir(dir);
    }
  },
});

Deno.test({
  name: "readChunk: wrong data, a FIFO or a file too large is invalid, saying what it is",
  sanitizeResources: false,
  async fn() {
    const dir = await tempDir();
    const pool = new CodecPool(1);
    try {
      const plain = pseudoRandom(5000, 6);
      const id = idOf(plain);
      const path = chunkFilePath(dir, id);
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      const job = { path, id, digests: ["sha512-256"] as const, maxBytes: 64 << 10 };
      const invalid = async () => {
        const found = await pool.readChunk(job);
        assert(found !== MISSING && "invalid" in found, JSON.stringify(found));
        return found.invalid;
      };

      // Another chunk's data under this name.
      await Deno.writeFile(path, new Uint8Array(zlib.zstdCompressSync(pseudoRandom(5000, 7))));
      assert((await invalid()).includes("hashes to"), await invalid());

      await Deno.remove(path);
      const made = await new Deno.Command("mkfifo", { args: [path] }).output();
      assert(made.success, "mkfifo");
      assertEquals(await invalid(), `${path} is a FIFO, not a chunk file`);

      await Deno.remove(path);
      using file = await Deno.open(path, { write: true, create: true });
      await file.truncate(1 << 30);
      assertEquals(await invalid(), `${path} is larger than ${64 << 10} bytes, not a chunk file`);
    } finally {
      pool.close();
      await removeDir(dir);
    }
  },
});
