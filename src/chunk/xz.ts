/**
 * xz chunk files, as `casync --compression=xz` writes them. Decoded with a
 * WebAssembly xz decoder (no native code, no extra permission), loaded only
 * when an xz chunk is actually met.
 */
import { concatBytes } from "../util/bytes.ts";

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

export function isXz(bytes: Uint8Array): boolean {
  return bytes.length >= XZ_MAGIC.length && XZ_MAGIC.every((byte, i) => bytes[i] === byte);
}

type XzStreamConstructor = new (input: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>;
let decoder: Promise<XzStreamConstructor> | undefined;

/** Decompresses an xz stream, stopping with an error past `maxBytes` of output. */
export async function xzDecompress(bytes: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  decoder ??= import("xz-decompress").then((module) =>
    (module.default ?? module).XzReadableStream as XzStreamConstructor
  );
  const XzReadableStream = await decoder;
  const input = new Blob([bytes as BlobPart]).stream();
  const reader = new XzReadableStream(input).getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) throw new Error(`decompresses to more than ${maxBytes} bytes`);
      parts.push(value);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return concatBytes(parts);
}
