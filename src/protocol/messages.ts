/**
 * casync's remote protocol (src/caprotocol.h): messages framed by a 16-byte
 * header, the little-endian size (header included) and type. Pure codec.
 */
import {
  CHUNK_ID_SIZE,
  type ChunkId,
  chunkIdFromBytes,
  chunkIdToBytes,
} from "../format/chunk_id.ts";
import { escapeControls } from "../util/printable.ts";

export const MessageType = {
  HELLO: 0x3c71d0948ca5fbeen,
  INDEX: 0xb32a91dd2b3e27f8n,
  INDEX_EOF: 0x4f0932f1043718f5n,
  ARCHIVE: 0x95d6428a69eddcc5n,
  ARCHIVE_EOF: 0x450bef663f24cbadn,
  REQUEST: 0x8ab427e0f89d9210n,
  CHUNK: 0x5213dd180a84bc8cn,
  MISSING: 0xd010f9fac82b7b6cn,
  GOODBYE: 0xad205dbf1a3686c3n,
  ABORT: 0xe7d9136b7efea352n,
} as const;

/** HELLO feature bits: services offered and operations wanted. */
export const Feature = {
  READABLE_STORE: 0x1n,
  WRITABLE_STORE: 0x2n,
  READABLE_INDEX: 0x4n,
  WRITABLE_INDEX: 0x8n,
  READABLE_ARCHIVE: 0x10n,
  WRITABLE_ARCHIVE: 0x20n,
  PULL_CHUNKS: 0x40n,
  PULL_INDEX: 0x80n,
  PULL_ARCHIVE: 0x100n,
  PUSH_CHUNKS: 0x200n,
  PUSH_INDEX: 0x400n,
  PUSH_INDEX_CHUNKS: 0x800n,
  PUSH_ARCHIVE: 0x1000n,
} as const;

export const FEATURE_FLAGS_MAX = 0x1fffn;
export const CHUNK_FLAG_COMPRESSED = 1n;
export const HEADER_SIZE = 16;
export const MESSAGE_SIZE_MAX = 16 * 1024 * 1024;

export interface Message {
  type: bigint;
  /** The bytes after the header. */
  body: Uint8Array;
}

/** A message that breaks the protocol's rules. */
export class ProtocolError extends Error {}

export function encodeMessage(type: bigint, body: Uint8Array = new Uint8Array()): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE + body.length);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(bytes.length), true);
  view.setBigUint64(8, type, true);
  bytes.set(body, HEADER_SIZE);
  return bytes;
}

function u64(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  return bytes;
}

function readU64(body: Uint8Array, at = 0): bigint {
  return new DataView(body.buffer, body.byteOffset, body.byteLength).getBigUint64(at, true);
}

export function encodeHello(features: bigint): Uint8Array {
  return encodeMessage(MessageType.HELLO, u64(features));
}

export function decodeHello(body: Uint8Array): bigint {
  if (body.length !== 8) throw new ProtocolError(`HELLO of ${body.length + HEADER_SIZE} bytes`);
  const features = readU64(body);
  if (features & ~FEATURE_FLAGS_MAX) {
    throw new ProtocolError(`HELLO with unknown features 0x${features.toString(16)}`);
  }
  return features;
}

export function encodeRequest(ids: readonly ChunkId[], flags = 0n): Uint8Array {
  const body = new Uint8Array(8 + ids.length * CHUNK_ID_SIZE);
  body.set(u64(flags));
  ids.forEach((id, i) => chunkIdToBytes(id, body, 8 + i * CHUNK_ID_SIZE));
  return encodeMessage(MessageType.REQUEST, body);
}

export function decodeRequest(body: Uint8Array): { flags: bigint; ids: ChunkId[] } {
  if (body.length < 8 || (body.length - 8) % CHUNK_ID_SIZE !== 0) {
    throw new ProtocolError(`REQUEST of ${body.length + HEADER_SIZE} bytes`);
  }
  const ids: ChunkId[] = [];
  for (let at = 8; at < body.length; at += CHUNK_ID_SIZE) ids.push(chunkIdFromBytes(body, at));
  return { flags: readU64(body), ids };
}

export function encodeChunk(id: ChunkId, data: Uint8Array, compressed: boolean): Uint8Array {
  const body = new Uint8Array(8 + CHUNK_ID_SIZE + data.length);
  body.set(u64(compressed ? CHUNK_FLAG_COMPRESSED : 0n));
  chunkIdToBytes(id, body, 8);
  body.set(data, 8 + CHUNK_ID_SIZE);
  return encodeMessage(MessageType.CHUNK, body);
}

export function decodeChunk(
  body: Uint8Array,
): { id: ChunkId; compressed: boolean; data: Uint8Array } {
  if (body.length < 8 + CHUNK_ID_SIZE) {
    throw new ProtocolError(`CHUNK of ${body.length + HEADER_SIZE} bytes`);
  }
  const flags = readU64(body);
  if (flags & ~CHUNK_FLAG_COMPRESSED) throw new ProtocolError(`CHUNK with unknown flags ${flags}`);
  return {
    id: chunkIdFromBytes(body, 8),
    compressed: (flags & CHUNK_FLAG_COMPRESSED) !== 0n,
    data: body.subarray(8 + CHUNK_ID_SIZE),
  };
}

export function encodeMissing(id: ChunkId): Uint8Array {
  return encodeMessage(MessageType.MISSING, chunkIdToBytes(id));
}

export function decodeMissing(body: Uint8Array): ChunkId {
  if (body.length !== CHUNK_ID_SIZE) {
    throw new ProtocolError(`MISSING of ${body.length + HEADER_SIZE} bytes`);
  }
  return chunkIdFromBytes(body);
}

export function encodeAbort(reason: string, error = 0n): Uint8Array {
  const text = new TextEncoder().encode(reason);
  const body = new Uint8Array(8 + text.length + 1);
  body.set(u64(error));
  body.set(text, 8);
  return encodeMessage(MessageType.ABORT, body);
}

/**
 * The reason is the peer's text, shown in our messages: its control characters
 * (C0, DEL, C1) come back as \xNN, so that it cannot forge a line of output or
 * drive the terminal.
 */
export function decodeAbort(body: Uint8Array): { error: bigint; reason: string } {
  if (body.length < 8) throw new ProtocolError(`ABORT of ${body.length + HEADER_SIZE} bytes`);
  let text = body.subarray(8);
  const nul = text.indexOf(0);
  if (nul >= 0) text = text.subarray(0, nul);
  return { error: readU64(body), reason: escapeControls(new TextDecoder().decode(text)) };
}

/** Splits a byte stream into messages; `next()` is undefined at a clean end of stream. */
export class MessageReader {
  /** A byte stream is read into our own buffer (BYOB): no allocation per read. */
  readonly #byob?: ReadableStreamBYOBReader;
  readonly #reader?: ReadableStreamDefaultReader<Uint8Array>;
  #buffer = new Uint8Array(0);
  #start = 0;
  #end = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    try {
      this.#byob = stream.getReader({ mode: "byob" });
    } catch {
      this.#reader = stream.getReader();
    }
  }

  async next(): Promise<Message | undefined> {
    if (!(await this.#fill(HEADER_SIZE))) return undefined;
    const view = new DataView(this.#buffer.buffer, this.#start);
    const size = view.getBigUint64(0, true);
    const type = view.getBigUint64(8, true);
    if (size < BigInt(HEADER_SIZE) || size > BigInt(MESSAGE_SIZE_MAX)) {
      throw new ProtocolError(`message size ${size} out of range`);
    }
    if (!(await this.#fill(Number(size)))) throw new ProtocolError("stream ended inside a message");
    // A copy: the buffer is read into again, and bodies move on to other threads.
    const body = this.#buffer.slice(this.#start + HEADER_SIZE, this.#start + Number(size));
    this.#start += Number(size);
    return { type, body };
  }

  cancel(): void {
    (this.#byob ?? this.#reader)!.cancel().catch(() => {});
  }

  /** Buffers at least `size` unread bytes; false at end of stream (error if mid-message). */
  async #fill(size: number): Promise<boolean> {
    if (this.#end - this.#start >= size) return true;
    this.#makeRoom(size);
    while (this.#end - this.#start < size) {
      const { done } = await this.#read();
      if (done) {
        if (this.#end === this.#start) return false;
        throw new ProtocolError("stream ended inside a message");
      }
    }
    return true;
  }

  /** Moves the unread bytes to the front, growing the buffer when `size` would not fit. */
  #makeRoom(size: number) {
    const unread = this.#buffer.subarray(this.#start, this.#end);
    if (this.#buffer.length < size) {
      const bigger = new Uint8Array(Math.max(size, 1 << 20));
      bigger.set(unread);
      this.#buffer = bigger;
    } else {
      this.#buffer.copyWithin(0, this.#start, this.#end);
    }
    this.#end -= this.#start;
    this.#start = 0;
  }

  /** One read appended to the buffer (which has room); done at the end of the stream. */
  async #read(): Promise<{ done: boolean }> {
    if (this.#byob) {
      const room = new Uint8Array(this.#buffer.buffer, this.#end);
      const { value, done } = await this.#byob.read(room);
      // The read moved the memory into a new ArrayBuffer object.
      if (value) {
        this.#buffer = new Uint8Array(value.buffer);
        this.#end += value.length;
      }
      return { done: done && !value?.length };
    }
    const { value, done } = await this.#reader!.read();
    if (done) return { done };
    if (this.#buffer.length - this.#end < value.length) {
      const bigger = new Uint8Array(Math.max(2 * this.#buffer.length, this.#end + value.length));
      bigger.set(this.#buffer.subarray(0, this.#end));
      this.#buffer = bigger;
    }
    this.#buffer.set(value, this.#end);
    this.#end += value.length;
    return { done: false };
  }
}
