/**
 * A fast path for zstd frames that hold no compressed blocks. Incompressible
 * chunks (random or already-compressed data) are stored by zstd as "raw" blocks:
 * the plain bytes verbatim behind a few header bytes. Those can be returned as a
 * view without running the decoder. Anything else returns undefined and goes
 * to the real decoder. Layout per RFC 8878, section 3.1.1.
 */

const ZSTD_MAGIC = 0xfd2fb528;

/** Whether `bytes` start with zstd's frame magic number. */
export function isZstdFrame(bytes: Uint8Array): boolean {
  return bytes.length >= 4 &&
    new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === ZSTD_MAGIC;
}
const BLOCK_RAW = 0;
const BLOCK_RLE = 1;

/** A block's content: `length` bytes at `at` of the frame (raw), or `length` copies of `fill` (RLE). */
interface Piece {
  at: number;
  length: number;
  fill?: number;
}

/**
 * Where content of more than one block is joined. Reused, as the decoder's
 * output is: a fresh buffer per chunk costs page faults and zeroing.
 */
let joined = new Uint8Array(0);

/**
 * The content of concatenated frames made only of raw/RLE blocks, with its
 * size; undefined for any other data. Content over `limit` bytes is not made
 * (only its size is told): RLE blocks could otherwise make gigabytes of a few
 * bytes. A lone raw block comes back as a view into `data`; joined content as
 * a view into a buffer the next call reuses.
 */
export function storedFrameContent(
  data: Uint8Array,
  limit = Number.MAX_SAFE_INTEGER,
): { content?: Uint8Array; size: number } | undefined {
  const pieces: Piece[] = [];
  let at = 0;
  let total = 0;
  do {
    const end = collectStoredFrame(data, at, pieces);
    if (end === undefined) return undefined;
    at = end;
  } while (at < data.length);
  for (const piece of pieces) total += piece.length;
  if (total > limit) return { size: total };
  if (pieces.length === 1 && pieces[0].fill === undefined) {
    return { content: data.subarray(pieces[0].at, pieces[0].at + total), size: total };
  }
  if (joined.length < total) joined = new Uint8Array(Math.max(total, 2 * joined.length));
  let done = 0;
  for (const { at, length, fill } of pieces) {
    if (fill === undefined) joined.set(data.subarray(at, at + length), done);
    else joined.fill(fill, done, done + length);
    done += length;
  }
  return { content: joined.subarray(0, total), size: total };
}

/**
 * Whether storedFrameContent reads `data` (frames of raw and RLE blocks only)
 * and one of its frames declares a content checksum, which it does not check.
 */
export function hasUncheckedChecksum(data: Uint8Array): boolean {
  const seen = { checksum: false };
  let at = 0;
  do {
    const end = collectStoredFrame(data, at, [], seen);
    if (end === undefined) return false;
    at = end;
  } while (at < data.length);
  return seen.checksum;
}

/**
 * Adds one frame's blocks starting at `at` to `pieces`; returns where the frame
 * ends. Notes in `seen` whether it declares a content checksum.
 */
function collectStoredFrame(
  frame: Uint8Array,
  start: number,
  pieces: Piece[],
  seen?: { checksum: boolean },
) {
  if (frame.length - start < 6) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint32(start, true) !== ZSTD_MAGIC) return undefined;
  const descriptor = frame[start + 4];
  const contentSizeFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const hasChecksum = (descriptor >> 2) & 1;
  const dictionaryFlag = descriptor & 3;
  if ((descriptor >> 3) & 1) return undefined; // reserved bit must be zero
  let at = start + 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictionaryFlag];
  at += contentSizeFlag === 0 ? singleSegment : [0, 2, 4, 8][contentSizeFlag];

  for (;;) {
    if (at + 3 > frame.length) return undefined;
    const header = frame[at] | (frame[at + 1] << 8) | (frame[at + 2] << 16);
    at += 3;
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === BLOCK_RAW) {
      if (at + size > frame.length) return undefined;
      if (size > 0) pieces.push({ at, length: size });
      at += size;
    } else if (type === BLOCK_RLE) {
      if (at + 1 > frame.length) return undefined;
      if (size > 0) pieces.push({ at, length: size, fill: frame[at] });
      at += 1;
    } else {
      return undefined;
    }
    if (last) break;
  }
  // The content checksum is not checked here: callers verify the chunk's digest.
  at += hasChecksum ? 4 : 0;
  if (seen && hasChecksum) seen.checksum = true;
  return at <= frame.length ? at : undefined;
}
