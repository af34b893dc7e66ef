/**
 * Full collections for native memory V8 does not count. node:crypto's hash
 * objects and the file handles of chunk writes hold native memory until a full
 * GC collects their JS objects, and make's heaps hardly grow, so V8 seldom runs
 * one: that memory piled up with the blob (make of 1 GiB peaked at 104-110 MiB,
 * with a full GC every 4096 pieces at 101-104; more often gained nothing more).
 * Where the runtime exposes gc() (the binary runs with --expose-gc, see
 * scripts/permissions.ts), a lane runs one every PIECES_PER_GC pieces it
 * hashes (and stores, for make); each takes ~8 ms, under 1 % of make.
 * Extract does not: its main thread holds the index, whose heap a full GC
 * would walk each time, and its peak stays flat without.
 */
export const PIECES_PER_GC = 4096;

let piecesSinceGc = 0;

/** Counts pieces done in this lane, and collects when PIECES_PER_GC have accumulated. */
export function collectAfterPieces(pieces: number): boolean {
  piecesSinceGc += pieces;
  if (piecesSinceGc < PIECES_PER_GC) return false;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") return false;
  piecesSinceGc = 0;
  gc();
  return true;
}

/**
 * Chunks fetched into a store (cache from HTTP) between full collections: every
 * 512 a lane kept cache of 1 GiB at 96-100 MiB peak, against 103-106 every 4096
 * (and, with two worker lanes and none, 121-124, growing with the blob).
 */
export const STORES_PER_GC = 512;
/**
 * A lane waits this many times as long as its last full GC took before the
 * next: an inline lane's isolate also holds the indexes, and where those are
 * millions of chunks a full GC takes seconds. So GC costs at most ~5 %.
 */
const GC_SPACING = 20;

let storesSinceGc = 0;
let nextGcAt = 0;

/** Counts chunks this lane stored, and collects when STORES_PER_GC have accumulated. */
export function collectAfterStores(chunks: number): boolean {
  storesSinceGc += chunks;
  if (storesSinceGc < STORES_PER_GC) return false;
  const gc = (globalThis as { gc?: () => void }).gc;
  const started = performance.now();
  if (typeof gc !== "function" || started < nextGcAt) return false;
  storesSinceGc = 0;
  gc();
  const ended = performance.now();
  nextGcAt = ended + GC_SPACING * (ended - started);
  return true;
}
