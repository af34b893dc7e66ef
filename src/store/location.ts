/** Turns the store locations users type (`-s`, `-c`) into Store objects. */
import type { CodecPool } from "../chunk/codec_pool.ts";
import { type StoreError, UsageError } from "../errors.ts";
import type { Digest } from "../format/index.ts";
import { CachedStore } from "./cache.ts";
import { LocalStore } from "./local.ts";
import { HttpStore } from "./http.ts";
import { DEFAULT_HTTP_OPTIONS, type HttpOptions } from "../util/http_client.ts";
import type { SshOptions } from "./ssh.ts";
import { StoreRouter } from "./router.ts";
import { parseHttpLocation } from "./http_location.ts";
import { parseSshLocation } from "./ssh_location.ts";
import {
  isPruneStore,
  isWriteStore,
  type PruneStore,
  type Store,
  type WriteStore,
} from "./store.ts";
import { failoverGroup, groupMembers } from "./failover.ts";
import type { S3Auth } from "./s3_client.ts";
import { isS3Location, parseS3Location } from "./s3_location.ts";
import {
  DEFAULT_SFTP_OPTIONS,
  isSftpLocation,
  parseSftpLocation,
  type SftpOptions,
} from "./sftp_location.ts";
import { DEFAULT_STORE_SETTINGS, type StoreSettings } from "./settings.ts";

export interface StoreContext {
  codec: CodecPool;
  digests: readonly Digest[];
  http?: HttpOptions;
  ssh?: SshOptions;
  /** The largest chunk the indexes at hand name: what a remote may send is bounded by it. */
  maxChunkSize?: number;
  /** Settings per location (the config file's store-options with the flags on top). */
  settingsFor?: (location: string) => Promise<StoreSettings>;
  /** Credentials and region for an S3 location; unsigned requests without it. */
  s3Auth?: (location: string) => Promise<S3Auth>;
  sftp?: SftpOptions;
}

export type LocationKind = "local" | "http" | "ssh" | "s3" | "sftp";

export function locationKind(location: string): LocationKind {
  if (/^https?:\/\//i.test(location)) return "http";
  if (/^ssh:\/\//i.test(location)) return "ssh";
  if (isS3Location(location)) return "s3";
  if (isSftpLocation(location)) return "sftp";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new UsageError(`store ${location}: unsupported scheme`);
  }
  return "local";
}

/**
 * Checks a store location's syntax (scheme, host, path) without touching it,
 * so that a mistyped location is a usage error before any network traffic.
 * Each member of a failover group (`a|b`) is checked.
 */
export function checkLocation(location: string): void {
  for (const member of groupMembers(location)) {
    switch (locationKind(member)) {
      case "http":
        parseHttpLocation(member, "store");
        break;
      case "ssh":
        parseSshLocation(member);
        break;
      case "s3":
        parseS3Location(member);
        break;
      case "sftp":
        parseSftpLocation(member);
        break;
      case "local":
        if (member === "") throw new UsageError("a store location may not be empty");
    }
  }
}

/** The settings for one location: the context's resolver, else its HTTP options. */
export async function settingsOf(location: string, context: StoreContext): Promise<StoreSettings> {
  if (context.settingsFor) return await context.settingsFor(location);
  return { ...DEFAULT_STORE_SETTINGS, http: context.http ?? DEFAULT_HTTP_OPTIONS };
}

/** Opens one store, or a failover group for `a|b|…`, for reading. */
export async function openStore(location: string, context: StoreContext): Promise<Store> {
  const members = groupMembers(location);
  if (members.length === 1) return await openSingleStore(location, context);
  const stores: Store[] = [];
  try {
    for (const member of members) stores.push(await openSingleStore(member, context));
  } catch (error) {
    await Promise.allSettled(stores.map((store) => store.close()));
    throw error;
  }
  return failoverGroup(stores);
}

async function openSingleStore(
  location: string,
  context: StoreContext,
  create = false,
): Promise<Store> {
  switch (locationKind(location)) {
    case "local": {
      const { uncompressed } = await settingsOf(location, context);
      return await LocalStore.open(location, { ...context, create, uncompressed });
    }
    case "http":
      return new HttpStore(location, { ...context, ...(await settingsOf(location, context)) });
    // The remote kinds' modules are loaded when such a store is opened: most runs use none.
    case "ssh": {
      const { DEFAULT_SSH_OPTIONS, SshStore } = await import("./ssh.ts");
      return SshStore.open(location, { ...context, ssh: context.ssh ?? DEFAULT_SSH_OPTIONS });
    }
    case "s3": {
      const { S3Store } = await import("./s3.ts");
      return new S3Store(location, {
        ...context,
        settings: await settingsOf(location, context),
        auth: context.s3Auth ? await context.s3Auth(location) : { region: "us-east-1" },
      });
    }
    case "sftp": {
      const { SftpStore } = await import("./sftp.ts");
      return new SftpStore(location, {
        ...context,
        settings: await settingsOf(location, context),
        sftp: context.sftp ?? DEFAULT_SFTP_OPTIONS,
        create,
      });
    }
  }
}

/** Opens a store that chunks will be written to, creating a local directory if needed. */
export async function openWriteStore(location: string, context: StoreContext): Promise<WriteStore> {
  const store = groupMembers(location).length > 1
    ? await openStore(location, context)
    : await openSingleStore(location, context, true);
  if (!isWriteStore(store)) {
    await store.close();
    throw new UsageError(`store ${location} cannot be written to`);
  }
  return store;
}

/** Opens a store whose chunks can be listed and removed (verify, prune): local, S3, SFTP. */
export async function openPruneStore(location: string, context: StoreContext): Promise<PruneStore> {
  const store = await openStore(location, context);
  if (!isPruneStore(store)) {
    await store.close();
    throw new UsageError(
      `store ${location}: this command needs a store that can be listed ` +
        "(a local directory, s3+http(s)://, sftp://)",
    );
  }
  return store;
}

/**
 * The `-s` stores in order, behind the `-c` cache when one is given. With
 * `onCacheWriteError`, a cache that cannot be written fails nothing: the first
 * failure is passed to it, and the chunks are used uncached.
 */
export async function openStoreChain(
  locations: readonly string[],
  cacheLocation: string | undefined,
  context: StoreContext,
  options: { cacheRepair?: boolean; onCacheWriteError?: (error: StoreError) => void } = {},
): Promise<Store> {
  if (locations.length === 0) throw new UsageError("at least one store (-s) is required");
  const stores: Store[] = [];
  try {
    for (const location of locations) stores.push(await openStore(location, context));
    const router = stores.length === 1 ? stores[0] : new StoreRouter(stores);
    if (cacheLocation === undefined) return router;
    const cache = await openWriteStore(cacheLocation, context);
    return new CachedStore(cache, router, {
      repair: options.cacheRepair,
      onWriteError: options.onCacheWriteError,
    });
  } catch (error) {
    await Promise.allSettled(stores.map((store) => store.close()));
    throw error;
  }
}
