/**
 * xz chunk files, as `casync --compression=xz` writes them. Decoded with a
 * WebAssembly xz decoder (no native code, no extra permission), loaded only
 * when an xz chunk is actually met.
 */
const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

export function isXz(bytes: Uint8Array): boolean {
  return bytes.length >= XZ_MAGIC.length && XZ_MAGIC.every((byte, i) => bytes[i] === byte);
}

type XzStreamConstructor = new (input: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>;
let decoder: Promise<XzStreamConstructor> | undefined;

export async function xzDecompress(bytes: Uint8Array): Promise<Uint8Array> {
  decoder ??= import("xz-decompress").then((module) =>
    (module.default ?? module).XzReadableStream as XzStreamConstructor
  );
  const XzReadableStream = await decoder;
  const input = new Blob([bytes as BlobPart]).stream();
  return new Uint8Array(await new Response(new XzReadableStream(input)).arrayBuffer());
}
