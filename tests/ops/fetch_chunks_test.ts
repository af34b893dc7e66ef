import { assertEquals } from "../assert.ts";
import { fetchBatchSize } from "../../src/ops/fetch_chunks.ts";

Deno.test("fetchBatchSize: large extracts get full jobs, small ones still reach every lane", () => {
  // 4096 chunks over 2 lanes: jobs of 64 (64 jobs).
  assertEquals(fetchBatchSize(4096, 2), 64);
  // 100 chunks over 2 lanes: 4 jobs per lane's worth, ceil(100 / 8) = 13 each.
  assertEquals(fetchBatchSize(100, 2), 13);
  // Never below 8 a job, and never 0 for an empty or tiny list.
  assertEquals(fetchBatchSize(10, 2), 8);
  assertEquals(fetchBatchSize(0, 2), 8);
  assertEquals(fetchBatchSize(1000, 0), 64);
});

Deno.test("fetchBatchSize: every lane gets a job when there are enough chunks to share", () => {
  for (const lanes of [1, 2, 4, 8]) {
    for (const chunks of [16, 33, 100, 257, 1000, 5000]) {
      const size = fetchBatchSize(chunks, lanes);
      const jobs = Math.ceil(chunks / size);
      assertEquals(jobs >= Math.min(lanes, Math.ceil(chunks / 8)), true, `${chunks}/${lanes}`);
    }
  }
});
