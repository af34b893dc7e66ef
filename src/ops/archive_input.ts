/**
 * Where untar and mtree read an archive from: a catar file (or standard input),
 * or a .caidx whose chunks are fetched from stores in order, some ahead (cat).
 * Either way the bytes are pushed in order and each push is awaited, so a
 * buffer can be reused and memory stays bounded.
 */
import { DesyncError } from "../errors.ts";
import type { Index } from "../format/index.ts";
import type { Store } from "../store/store.ts";
import type { CodecPool } from "../chunk/codec_pool.ts";
import { describeFsError } from "../util/fs.ts";
import { untilAborted } from "../util/tasks.ts";
import { cat } from "./cat.ts";

export type Push = (bytes: Uint8Array) => Promise<void>;
export type Feed = (push: Push) => Promise<void>;

const READ_SIZE = 1 << 20;

/** A catar file, or standard input for "-". */
export function fileFeed(path: string, signal?: AbortSignal): Feed {
  return async (push) => {
    let file: Deno.FsFile | undefined;
    let reader: { read(p: Uint8Array): Promise<number | null> };
    if (path === "-") reader = Deno.stdin;
    else {
      try {
        file = await Deno.open(path, { read: true });
      } catch (error) {
        throw new DesyncError(`${path}: cannot open: ${describeFsError(error)}`, { cause: error });
      }
      reader = file;
    }
    const buffer = new Uint8Array(READ_SIZE);
    try {
      for (;;) {
        signal?.throwIfAborted();
        let n: number | null;
        try {
          // A pipe can stall with its writer open; a stop signal must not wait for it.
          n = await untilAborted(reader.read(buffer), signal);
        } catch (error) {
          throw new DesyncError(`${path}: cannot read: ${describeFsError(error)}`, {
            cause: error,
          });
        }
        if (n === null) return;
        await push(buffer.subarray(0, n));
      }
    } finally {
      file?.close();
    }
  };
}

/** The archive an index describes, streamed from `store` in order (read by `codec`'s lanes). */
export function indexFeed(
  index: Index,
  store: Store,
  concurrency: number,
  signal?: AbortSignal,
  codec?: CodecPool,
): Feed {
  return async (push) => {
    await cat({ index, store, write: push, concurrency, signal, codec });
  };
}
