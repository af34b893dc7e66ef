/** Turns the store locations users type (`-s`, `-c`) into Store objects. */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { UsageError } from "../errors.ts";
import type { Digest } from "../format/index.ts";
import { CachedStore } from "./cache.ts";
import { LocalStore } from "./local.ts";
import { HttpStore } from "./http.ts";
import { DEFAULT_HTTP_OPTIONS, type HttpOptions } from "./http_client.ts";
import { DEFAULT_SSH_OPTIONS, type SshOptions, SshStore } from "./ssh.ts";
import { StoreRouter } from "./router.ts";
import { parseHttpLocation } from "./http_location.ts";
import { parseSshLocation } from "./ssh_location.ts";
import { isWriteStore, type Store, type WriteStore } from "./store.ts";

export interface StoreContext {
  codec: CodecPool;
  digests: readonly Digest[];
  http?: HttpOptions;
  ssh?: SshOptions;
  /** The largest chunk the indexes at hand name: what a remote may send is bounded by it. */
  maxChunkSize?: number;
}

export type LocationKind = "local" | "http" | "ssh";

export function locationKind(location: string): LocationKind {
  if (/^https?:\/\//i.test(location)) return "http";
  if (/^ssh:\/\//i.test(location)) return "ssh";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new UsageError(`store ${location}: unsupported scheme`);
  }
  return "local";
}

/**
 * Checks a store location's syntax (scheme, host, path) without touching it,
 * so that a mistyped location is a usage error before any network traffic.
 */
export function checkLocation(location: string): void {
  switch (locationKind(location)) {
    case "http":
      parseHttpLocation(location, "store");
      break;
    case "ssh":
      parseSshLocation(location);
      break;
    case "local":
      if (location === "") throw new UsageError("a store location may not be empty");
  }
}

/** Opens one store for reading. */
export async function openStore(location: string, context: StoreContext): Promise<Store> {
  switch (locationKind(location)) {
    case "local":
      return await LocalStore.open(location, context);
    case "http":
      return new HttpStore(location, { ...context, http: context.http ?? DEFAULT_HTTP_OPTIONS });
    case "ssh":
      return SshStore.open(location, { ...context, ssh: context.ssh ?? DEFAULT_SSH_OPTIONS });
  }
}

/** Opens a store that chunks will be written to, creating a local directory if needed. */
export async function openWriteStore(location: string, context: StoreContext): Promise<WriteStore> {
  const store = locationKind(location) === "local"
    ? await LocalStore.open(location, { ...context, create: true })
    : await openStore(location, context);
  if (!isWriteStore(store)) throw new UsageError(`store ${location} cannot be written to`);
  return store;
}

/** Opens a local store directory; commands that walk a store need one. */
export async function openLocalStore(location: string, context: StoreContext, create = false) {
  if (locationKind(location) !== "local") {
    throw new UsageError(`store ${location}: this command needs a local store directory`);
  }
  return await LocalStore.open(location, { ...context, create });
}

/** The `-s` stores in order, behind the `-c` cache when one is given. */
export async function openStoreChain(
  locations: readonly string[],
  cacheLocation: string | undefined,
  context: StoreContext,
  options: { cacheRepair?: boolean } = {},
): Promise<Store> {
  if (locations.length === 0) throw new UsageError("at least one store (-s) is required");
  const stores: Store[] = [];
  try {
    for (const location of locations) stores.push(await openStore(location, context));
    const router = stores.length === 1 ? stores[0] : new StoreRouter(stores);
    if (cacheLocation === undefined) return router;
    const cache = await openWriteStore(cacheLocation, context);
    return new CachedStore(cache, router, { repair: options.cacheRepair });
  } catch (error) {
    await Promise.allSettled(stores.map((store) => store.close()));
    throw error;
  }
}
