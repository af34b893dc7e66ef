/**
 * The stream chunker (tar -i's) against the real casync: fed a blob in pieces of
 * odd sizes, its table encodes to the very .caibx `casync make` writes of it, and
 * it counts as many distinct chunks as casync stored files.
 */
import { assertBytesEqual, assertEquals } from "../assert.ts";
import { chunkerParams } from "../../src/chunk/chunker.ts";
import { CASYNC_BLOB_FLAGS, FLAG_SHA512_256 } from "../../src/format/index.ts";
import { StreamChunker } from "../../src/ops/chunk_stream.ts";
import { codecTest } from "../helpers.ts";
import { BLOB_CASES, blobBytes, CASYNC_MISSING, casyncMake, storeIds } from "./casync_fixture.ts";

for (const blobCase of BLOB_CASES) {
  codecTest(
    `stream chunker interop (${blobCase.name}): its table encodes to casync's .caibx`,
    async (dir, codec) => {
      const fixture = await casyncMake(dir, blobCase);
      const digest = blobCase.digest ?? "sha512-256";
      const params = chunkerParams();
      const chunker = new StreamChunker({ codec, params, digest, concurrency: 4 });
      const data = blobBytes(blobCase);
      for (let at = 0, k = 0; at < data.length; k++) {
        const size = [100_003, 7, 300_000][k % 3];
        await chunker.write(data.slice(at, at + size));
        at += size;
      }
      const { table, stats } = await chunker.finish();
      const featureFlags = digest === "sha256"
        ? CASYNC_BLOB_FLAGS & ~FLAG_SHA512_256
        : CASYNC_BLOB_FLAGS;
      const bytes = table.encode({
        featureFlags,
        chunkSizeMin: params.min,
        chunkSizeAvg: params.avg,
        chunkSizeMax: params.max,
      });
      assertBytesEqual(bytes, await Deno.readFile(fixture.index));
      assertEquals(stats.uniqueChunks, storeIds(fixture.store).length);
    },
    2,
    CASYNC_MISSING,
  );
}
