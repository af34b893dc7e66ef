/**
 * chunk-server: a store chain served over HTTP(S). Read-only in front of any
 * chain (a caching proxy with a cache), or writable (`-w`) into one store.
 */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { UsageError } from "../errors.ts";
import type { Digest } from "../format/index.ts";
import {
  locationKind,
  openStoreChain,
  openWriteStore,
  type StoreContext,
} from "../store/location.ts";
import type { Store, WriteStore } from "../store/store.ts";
import { type AccessLog, openAccessLog } from "./access_log.ts";
import { authorizer } from "./auth.ts";
import { chunkHandler, MAX_CHUNK_SIZE } from "./chunk_handler.ts";
import { ChunkSource } from "./chunk_source.ts";
import {
  type ClosableServer,
  type Handler,
  type ListenAddress,
  type ServerLimits,
  startHttpServer,
  type TlsConfig,
} from "./http_server.ts";

export interface ChunkServerOptions {
  stores: readonly string[];
  cache?: string;
  /**
   * An invalid chunk in the cache is fetched again from the stores and replaced
   * (Go desync's `-r`, default true); false answers an error for it.
   */
  cacheRepair?: boolean;
  /**
   * Verify the chunks of local stores before serving them (Go desync's
   * `--skip-verify-read=false`); by default their files are sent as stored.
   */
  verifyRead?: boolean;
  listen: readonly ListenAddress[];
  writable: boolean;
  uncompressed: boolean;
  tls?: TlsConfig;
  authorization?: string;
  /** Access log file, `-` for stdout. */
  log?: string;
  limits?: Partial<ServerLimits>;
  maxChunkSize?: number;
  /** Several servers on the same port (threads). */
  reusePort?: boolean;
}

/** `close` stops the server, then closes its stores and access log. */
export type ChunkServer = ClosableServer;

export async function startChunkServer(
  options: ChunkServerOptions,
  context: StoreContext & { codec: CodecPool; digests: readonly Digest[] },
): Promise<ChunkServer> {
  if (options.stores.length === 0) throw new UsageError("at least one store (-s) is required");
  if (options.writable && (options.stores.length > 1 || options.cache !== undefined)) {
    throw new UsageError("-w serves exactly one store (-s) and no cache (-c)");
  }
  let chain: Store;
  let writeStore: WriteStore | undefined;
  if (options.writable) {
    writeStore = await openWriteStore(options.stores[0], context);
    chain = writeStore;
  } else {
    // A cache that cannot take a chunk (disk full) must not fail the request for it.
    chain = await openStoreChain(options.stores, options.cache, context, {
      cacheRepair: options.cacheRepair ?? true,
      onCacheWriteError: (error) =>
        console.error(
          `desync: chunk-server: warning: ${error.message}; ` +
            "serving without caching what the cache cannot take",
        ),
    });
  }
  let log: AccessLog | undefined;
  const release = async () => {
    log?.close();
    await chain.close();
  };
  let handler: Handler;
  try {
    const source = new ChunkSource({
      localDirs: options.verifyRead ? [] : localHead(options.stores, options.cache),
      checkedDirs: options.uncompressed ? [] : checkedHead(options),
      touched: options.cache !== undefined && locationKind(options.cache) === "local"
        ? trimSlash(options.cache)
        : undefined,
      chainDirs: [...options.stores, ...(options.cache === undefined ? [] : [options.cache])]
        .filter((location) => locationKind(location) === "local"),
      chain,
      codec: context.codec,
      digests: context.digests,
      uncompressed: options.uncompressed,
    });
    log = openAccessLog(options.log);
    handler = chunkHandler({
      source,
      writeStore,
      codec: context.codec,
      digests: context.digests,
      uncompressed: options.uncompressed,
      authorized: authorizer(options.authorization),
      maxChunkSize: options.maxChunkSize ?? MAX_CHUNK_SIZE,
      log,
      report: (message) => console.error(`desync: chunk-server: ${message}`),
    });
  } catch (error) {
    await release();
    throw error;
  }
  return await startHttpServer(options.listen, handler, {
    tls: options.tls,
    limits: options.limits,
    reusePort: options.reusePort,
    release,
  });
}

/**
 * The local directories whose files can be served directly, as stored (the
 * client verifies, as Go desync's --skip-verify-read, on by default, has it): the
 * cache when it is local, else the local stores before the first remote one.
 */
export function localHead(stores: readonly string[], cache?: string): string[] {
  if (cache !== undefined) return locationKind(cache) === "local" ? [trimSlash(cache)] : [];
  const head: string[] = [];
  for (const store of stores) {
    if (locationKind(store) !== "local") break;
    head.push(trimSlash(store));
  }
  return head;
}

/**
 * With `--skip-verify-read=false`, the local directories served once verified
 * (the same as localHead's): a cache's invalid chunks are then repaired from the
 * stores (unless --cache-repair=false), as in Go desync.
 */
function checkedHead(options: ChunkServerOptions): string[] {
  return options.verifyRead ? localHead(options.stores, options.cache) : [];
}

function trimSlash(dir: string): string {
  return dir.replace(/\/+$/, "") || "/";
}
