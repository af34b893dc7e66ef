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
 * but skips something of it zstd checks: a content checksum, the content size
 * a frame declares, a dictionary, blocks larger than the frame's window or
 * zstd's block limit, a window past zstd's default limit. Such a frame is
 * fine to read a verified chunk from, but not to store as it is before zstd
 * has decoded it: it may be a file zstd and Go desync refuse.
 */
export function hasUncheckedParts(data: Uint8Array): boolean {
  const seen = { unchecked: false };
  let at = 0;
  do {
    const end = collectStoredFrame(data, at, [], seen);
    if (end === undefined) return false;
    at = end;
  } while (at < data.length);
  return seen.unchecked;
}

/** zstd's largest block (RFC 8878 3.1.1.2.4), and the largest window its decoder takes by default. */
const BLOCK_SIZE_MAX = 128 << 10;
const WINDOW_SIZE_LIMIT = 2 ** 27;

/**
 * Adds one frame's blocks starting at `at` to `pieces`; returns where the frame
 * ends. Notes in `seen` whether it has any part hasUncheckedParts lists.
 */
function collectStoredFrame(
  frame: Uint8Array,
  start: number,
  pieces: Piece[],
  seen?: { unchecked: boolean },
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
  const sizeBytes = contentSizeFlag === 0 ? singleSegment : [0, 2, 4, 8][contentSizeFlag];
  // What the header declares, only looked at for `seen` (the blocks are the content).
  const declared = seen && sizeBytes > 0 && at + sizeBytes <= frame.length
    ? declaredSize(frame, at, sizeBytes)
    : undefined;
  const window = seen && at <= frame.length
    ? (singleSegment ? declared ?? 0 : windowSize(frame[start + 5]))
    : 0;
  at += sizeBytes;
  let content = 0;
  let largest = 0;

  for (;;) {
    if (at + 3 > frame.length) return undefined;
    const header = frame[at] | (frame[at + 1] << 8) | (frame[at + 2] << 16);
    at += 3;
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    content += size;
    largest = Math.max(largest, size);
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
  if (seen) {
    const unchecked = hasChecksum === 1 || dictionaryFlag !== 0 ||
      (declared !== undefined && declared !== content) || window > WINDOW_SIZE_LIMIT ||
      largest > Math.min(window, BLOCK_SIZE_MAX);
    if (unchecked) seen.unchecked = true;
  }
  return at <= frame.length ? at : undefined;
}

/** A frame's content size field of `bytes` bytes at `at` (RFC 8878 3.1.1.1.4). */
function declaredSize(frame: Uint8Array, at: number, bytes: number): number {
  let value = 0;
  for (let i = bytes - 1; i >= 0; i--) value = value * 256 + frame[at + i];
  return bytes === 2 ? value + 256 : value;
}

/** The window size a window descriptor byte gives (RFC 8878 3.1.1.1.2). */
function windowSize(descriptor: number): number {
  const base = 2 ** (10 + (descriptor >> 3));
  return base + (base / 8) * (descriptor & 7);
}
