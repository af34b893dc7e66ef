import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { assert, assertBytesEqual, assertEquals } from "../assert.ts";
import { CodecPool, MISSING, type ReadChunkJob } from "../../src/chunk/codec_pool.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { chunkFilePath, uncompressedPath } from "../../src/format/store_layout.ts";
import { pseudoRandom, removeDir, tempDir } from "../helpers.ts";

/**
 * A test with a one-lane pool and a store directory where the chunk of
 * `plain`'s directory exists but its file does not yet; `job` reads that chunk.
 */
function readChunkTest(
  name: string,
  plain: Uint8Array,
  maxBytes: number,
  fn: (pool: CodecPool, job: ReadChunkJob) => Promise<void>,
) {
  Deno.test({
    name,
    sanitizeResources: false,
    async fn() {
      const dir = await tempDir();
      const pool = new CodecPool(1);
      try {
        const id = createHash("sha512-256").update(plain).digest("hex") as ChunkId;
        const path = chunkFilePath(dir, id);
        await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
        await fn(pool, { path, id, digests: ["sha512-256"], maxBytes });
      } finally {
        pool.close();
        await removeDir(dir);
      }
    },
  });
}

const chunk = pseudoRandom(70_000, 5);
readChunkTest(
  "readChunk: a lane reads, decodes and verifies a store's chunk file, in either form",
  chunk,
  1 << 20,
  async (pool, job) => {
    const frame = new Uint8Array(zlib.zstdCompressSync(chunk));
    await Deno.writeFile(job.path, frame);
    const found = await pool.readChunk(job);
    assert(found !== MISSING && "plain" in found);
    assertBytesEqual(found.plain, chunk);
    // The file's bytes come back too, for a cache to store as they are.
    assertBytesEqual(found.zstd!, frame);

    // Go desync's uncompressed `<id>` beside it: the plain data, no frame.
    await Deno.remove(job.path);
    await Deno.writeFile(uncompressedPath(job.path), chunk);
    const plainFile = await pool.readChunk(job);
    assert(plainFile !== MISSING && "plain" in plainFile);
    assertBytesEqual(plainFile.plain, chunk);
    assertEquals(plainFile.zstd, undefined);

    await Deno.remove(uncompressedPath(job.path));
    assertEquals(await pool.readChunk(job), MISSING);
  },
);

readChunkTest(
  "readChunk: wrong data, a FIFO or a file too large is invalid, saying what it is",
  pseudoRandom(5000, 6),
  64 << 10,
  async (pool, job) => {
    const { path } = job;
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
  },
);
