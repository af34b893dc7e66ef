/** The progress line's figures: done and total, rate, time left, chunk counts. */
import { assertEquals } from "../assert.ts";
import { formatBytes, formatDuration, progressLine } from "../../src/util/progress.ts";

Deno.test("progress: a byte bar shows fraction, amounts, rate, ETA and chunks", () => {
  const line = progressLine({
    label: "extract",
    current: 10 << 20,
    total: 40 << 20,
    unit: "bytes",
    seconds: 2,
    chunks: 160,
    chunksTotal: 640,
    bar: true,
  });
  assertEquals(
    line,
    "extract [#####               ] 25.0% 10.0 MiB/40.0 MiB 5.0 MiB/s ETA 6s chunks 160/640",
  );
});

Deno.test("progress: parsable lines have no bar; the last says how long it took", () => {
  const line = progressLine({
    label: "cache",
    current: 300,
    total: 300,
    unit: "chunks",
    seconds: 125,
    chunks: 300,
    bar: false,
    final: true,
  });
  assertEquals(line, "cache 100.0% 300/300 chunks 2 chunks/s in 2m05s");
});

Deno.test("progress: an unknown total shows counts and rate only", () => {
  const line = progressLine({
    label: "verify",
    current: 1200,
    total: 0,
    unit: "chunks",
    seconds: 4,
    chunks: 1200,
    bar: true,
  });
  assertEquals(line, "verify 1200 chunks 300 chunks/s");
});

Deno.test("progress: byte counts and durations for people", () => {
  assertEquals(formatBytes(512), "512 B");
  assertEquals(formatBytes(1536), "1.5 KiB");
  assertEquals(formatBytes(3 * 2 ** 30), "3.0 GiB");
  assertEquals(formatDuration(42.4), "42s");
  assertEquals(formatDuration(3725), "1h02m");
});
