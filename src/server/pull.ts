/**
 * `pull`: serves local (or any) stores and an index to one client over casync's
 * protocol on stdin/stdout, as `casync pull` does at the far end of SSH.
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { ChunkMissing, DesyncError, UsageError } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import { type PulledChunk, servePull } from "../protocol/pull_server.ts";
import { locationKind, openStore, type StoreContext } from "../store/location.ts";
import { groupMembers } from "../store/failover.ts";
import { isRawChunkStore, type RawChunkStore, type Store } from "../store/store.ts";
import { describeFsError } from "../util/fs.ts";
import { readRegularFile, UnfitFile } from "../util/regular_file.ts";
import { MAX_INDEX_SIZE } from "../format/index.ts";

export interface PullArgs {
  /** An index file to serve, or undefined. */
  index?: string;
  /** Stores asked in order. */
  stores: string[];
}

/**
 * casync's arguments: BASE ARCHIVE INDEX WSTORE [STORE…], `-` for none. casync's
 * client sends `- - - - STORE`; Go desync's sends `- - - STORE` (the store in
 * the write-store place, which is served for reading all the same).
 */
export function parsePullArgs(args: readonly string[]): PullArgs {
  if (args.length < 4) {
    throw new UsageError("pull wants BASE ARCHIVE INDEX WSTORE [STORE…] (e.g. - - - - /srv/store)");
  }
  const given = (value: string) => value !== "" && value !== "-";
  const [base, archive, index, wstore, ...rest] = args;
  if (given(base) || given(archive)) {
    throw new UsageError("pull serves chunk stores and indexes, not archives or bases");
  }
  const stores = [wstore, ...rest].filter(given);
  if (!given(index) && stores.length === 0) throw new UsageError("pull: nothing to serve");
  return { index: given(index) ? index : undefined, stores };
}

/** Runs one session on the given streams (stdin/stdout in the CLI). */
export async function runPull(
  args: PullArgs,
  context: StoreContext & { codec: CodecPool },
  io: { input: ReadableStream<Uint8Array>; output: WritableStream<Uint8Array> },
): Promise<void> {
  let index: Uint8Array | undefined;
  if (args.index) {
    try {
      index = await readRegularFile(args.index, MAX_INDEX_SIZE);
    } catch (error) {
      const why = error instanceof UnfitFile
        ? `it is ${error.what()}, not an index file`
        : describeFsError(error);
      throw new DesyncError(`${args.index}: cannot read index: ${why}`);
    }
  }
  const stores: Store[] = [];
  try {
    for (const location of args.stores) stores.push(await openStore(location, context));
    // Local stores' chunk files are sent as stored (the client verifies them, as with
    // casync's and Go desync's `pull`); other stores' chunks are verified on the way.
    const asStored = args.stores.map((location, i) =>
      isRawChunkStore(stores[i]) &&
      groupMembers(location).every((member) => locationKind(member) === "local")
    );
    const getChunk = async (id: ChunkId): Promise<PulledChunk | undefined> => {
      for (let i = 0; i < stores.length; i++) {
        const found = asStored[i]
          ? await readRaw(stores[i] as RawChunkStore, id, context.codec)
          : await readStore(stores[i], id, context.codec);
        if (found) return found;
      }
      return undefined;
    };
    await servePull(io.input, io.output, {
      getChunk: stores.length ? getChunk : undefined,
      index,
    });
  } finally {
    await Promise.allSettled(stores.map((store) => store.close()));
  }
}

/**
 * A chunk as the store holds it. Go desync's client takes every chunk for a zstd
 * frame, so an uncompressed chunk file is compressed first.
 */
async function readRaw(store: RawChunkStore, id: ChunkId, codec: CodecPool) {
  try {
    const { data, compressed } = await store.getRawChunk(id);
    return compressed ? { data, compressed } : await compress(data, codec);
  } catch (error) {
    if (error instanceof ChunkMissing) return undefined;
    throw error;
  }
}

async function readStore(store: Store, id: ChunkId, codec: CodecPool) {
  try {
    const chunk = await store.getChunk(id);
    return chunk.compressed
      ? { data: chunk.compressed, compressed: true }
      : await compress(chunk.plain, codec);
  } catch (error) {
    if (error instanceof ChunkMissing) return undefined;
    throw error;
  }
}

async function compress(plain: Uint8Array, codec: CodecPool): Promise<PulledChunk> {
  // The digest only names the frame's ID, which is not needed here.
  return { data: (await codec.encode(plain, "sha512-256")).compressed, compressed: true };
}
