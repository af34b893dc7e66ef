import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { assert, assertBytesEqual, assertEquals, assertRejects } from "../assert.ts";
import { CodecPool } from "../../src/chunk/codec_pool.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { chunkFilePath } from "../../src/format/store_layout.ts";
import { filesUnder, mustRun, pseudoRandom, removeDir, tempDir } from "../helpers.ts";

Deno.test({
  name: "stop during a pieces job, then exit: the worker ends at its next piece, no temporary file",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await tempDir();
    try {
      // 4096 pieces of 512 bytes: the worker spends its time writing chunk files
      // when the script stops the pool and exits (see the fixture). Killed by
      // the exit mid-write, it left the chunk at hand as a temporary file.
      const piece = 512;
      const data = pseudoRandom(4096 * piece, 3);
      await Deno.writeFile(`${dir}/blob`, data);
      const script = new URL("../fixtures/pool_stop_then_exit.ts", import.meta.url).pathname;
      // A few rounds: the exit landed mid-write in about one in three.
      for (let round = 0; round < 4; round++) {
        await Deno.remove(`${dir}/store`, { recursive: true }).catch(() => {});
        await mustRun(Deno.execPath(), [
          "run",
          "--quiet",
          "--allow-read",
          "--allow-write",
          script,
          dir,
        ]);
        const store = `${dir}/store`;
        const files = filesUnder(store);
        assertEquals(files.filter((name) => name.endsWith(".tmp")), [], `round ${round}`);
        // It stopped early, and each chunk file it did write is whole.
        assert(files.length < 4096, `${files.length} chunk files: the job ran to its end`);
        const written = new Set(files);
        let whole = 0;
        for (let k = 0; k < 4096; k++) {
          const plain = data.subarray(k * piece, (k + 1) * piece);
          const id = createHash("sha512-256").update(plain).digest("hex") as ChunkId;
          const path = chunkFilePath(store, id);
          if (!written.has(path.slice(store.length + 1))) continue;
          assertBytesEqual(
            new Uint8Array(zlib.zstdDecompressSync(await Deno.readFile(path))),
            plain,
          );
          whole++;
        }
        assertEquals(whole, files.length);
      }
    } finally {
      await removeDir(dir);
    }
  },
});

Deno.test({
  name: "stop with no store writes in flight closes the pool at once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pool = new CodecPool(1);
    const started = performance.now();
    await pool.stop();
    assert(performance.now() - started < 1_000, "stop waited with nothing to wait for");
    await assertRejects(() => pool.hash(new Uint8Array(4), "sha256"), Error, "closed");
  },
});
