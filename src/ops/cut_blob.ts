/**
 * Finds a blob's chunk cuts with every codec worker at once. The blob is split
 * into parts; each part is chunked from its own start. The cuts after any cut
 * depend only on where it is, so once the true chain of cuts (from offset 0)
 * lands on a cut some part found, the rest of that part's cuts are true too.
 * Where no cut meets (long runs without boundaries, e.g. zeros), the true
 * chain is simply extended through the part: same result, less parallelism.
 */
import type { ChunkerParams } from "../chunk/chunker.ts";
import type { CodecPool } from "../chunk/codec_pool.ts";

/** Below this many bytes per part, splitting costs more than it saves. */
const MIN_PART = 4 << 20;
/**
 * At most this many bytes per part: parts are handed to the lanes as they free
 * up, so more parts than lanes keep every lane busy to the end.
 */
const MAX_PART = 32 << 20;

/**
 * The most one `cuts` job scans. A lane may run on the main thread (make's
 * does, see chunk/inline_lane.ts), where a job runs to its end before a signal
 * is handled: a part of a 4 GiB blob in one job kept Ctrl-C waiting for seconds.
 */
const CUTS_STEP = 16 << 20;

export async function cutBlob(
  codec: CodecPool,
  path: string,
  size: number,
  params: ChunkerParams,
  lanes = codec.size,
): Promise<number[]> {
  if (size === 0) return [];
  return await cutBlobFrom(codec, path, size, params, partStarts(size, params, lanes));
}

/** Where the parts of a blob start: one per lane at least, none past MAX_PART long. */
export function partStarts(size: number, params: ChunkerParams, lanes: number): number[] {
  const most = Math.floor(size / Math.max(MIN_PART, 4 * params.max));
  const count = Math.max(1, Math.min(most, Math.max(lanes, Math.ceil(size / MAX_PART))));
  return Array.from({ length: count }, (_, k) => Math.floor((size * k) / count));
}

/** cutBlob with the parts' starts given (the first must be 0), so tests can place them. */
export async function cutBlobFrom(
  codec: CodecPool,
  path: string,
  size: number,
  params: ChunkerParams,
  starts: readonly number[],
  step = CUTS_STEP,
): Promise<number[]> {
  if (size === 0) return [];
  if (starts[0] !== 0) throw new RangeError("the first part must start at 0");
  const count = starts.length;
  const ends = [...starts.slice(1), size];
  const found = await Promise.all(
    starts.map((start, k) => cutsUntil(codec, path, size, start, ends[k], params, step)),
  );
  const chain = found[0];
  for (let k = 1; k < count; k++) {
    const partCuts = found[k];
    const known = new Set(partCuts);
    let last = chain[chain.length - 1];
    while (last < size && !known.has(last) && last < ends[k]) {
      // Extend the true chain a few chunks at a time until it meets this part's cuts.
      const more = await codec.cuts(
        path,
        size,
        last,
        Math.min(last + 8 * params.max, size),
        params,
      );
      for (const cut of more) {
        chain.push(cut);
        last = cut;
        if (known.has(cut)) break;
      }
    }
    if (known.has(last)) {
      for (const cut of partCuts) if (cut > last) chain.push(cut);
    }
  }
  return chain;
}

/**
 * The cuts from `start` (a cut, or a part's guess) up to the first at or past
 * `end`, as `codec.cuts` finds them, in jobs of at most `step` bytes each. A
 * job starts where the one before cut: the cuts after a cut depend only on
 * where it is, so the chain is the same as one job's.
 */
export async function cutsUntil(
  codec: Pick<CodecPool, "cuts">,
  path: string,
  size: number,
  start: number,
  end: number,
  params: ChunkerParams,
  step = CUTS_STEP,
): Promise<number[]> {
  const cuts: number[] = [];
  let from = start;
  for (;;) {
    const more = await codec.cuts(path, size, from, Math.min(from + step, end), params);
    for (const cut of more) cuts.push(cut);
    const last = more.at(-1);
    if (last === undefined || last >= end || last >= size) return cuts;
    from = last;
  }
}

export interface Span {
  start: number;
  size: number;
}

/** The chunks between consecutive cuts, the first starting at `from`. */
export function spansOf(cuts: readonly number[], from = 0): Span[] {
  let start = from;
  return cuts.map((end) => {
    const span = { start, size: end - start };
    start = end;
    return span;
  });
}
