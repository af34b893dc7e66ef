/**
 * A codec pool whose worker starts on first use. A chunk server sends local
 * chunk files as stored and needs a codec only for chunks fetched upstream or
 * uploaded; an idle codec worker costs 12 to 30 MiB per server thread.
 */
import { CodecPool } from "../chunk/codec_pool.ts";
import { checkWorkersMayLoad } from "../chunk/worker_start.ts";

export interface LazyCodecPool {
  /** Stands for the pool: any use starts it. */
  readonly codec: CodecPool;
  /** Closes the pool if it was started. */
  close(): void;
}

export function lazyCodecPool(size: number): LazyCodecPool {
  // Fail now, not at the first upstream chunk, when the worker could not load.
  checkWorkersMayLoad();
  let pool: CodecPool | undefined;
  let closed = false;
  const codec = new Proxy({} as CodecPool, {
    get(_target, property) {
      // Closed before any use: jobs fail as a closed pool's do.
      if (closed && !pool) return () => Promise.reject(new Error("codec pool closed"));
      pool ??= new CodecPool(size);
      const value = Reflect.get(pool, property, pool);
      return typeof value === "function" ? value.bind(pool) : value;
    },
  });
  return {
    codec,
    close() {
      closed = true;
      pool?.close();
    },
  };
}
