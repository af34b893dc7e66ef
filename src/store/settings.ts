/**
 * Settings that can differ from store to store (the config file's
 * `store-options`, merged with the command line by the CLI).
 */
import { DEFAULT_HTTP_OPTIONS, type HttpOptions } from "../util/http_client.ts";

export interface StoreSettings {
  /** Timeouts, retries, TLS and headers for HTTP(S) and S3 requests (timeouts for SFTP too). */
  http: HttpOptions;
  /** Chunks are written (and read) as plain `<id>` files instead of zstd `<id>.cacnk`. */
  uncompressed: boolean;
}

export const DEFAULT_STORE_SETTINGS: StoreSettings = {
  http: DEFAULT_HTTP_OPTIONS,
  uncompressed: false,
};

/** Where a chunk lives below a store's root: `<4 hex>/<id>.cacnk`, or `<4 hex>/<id>` uncompressed. */
export function chunkKey(id: string, uncompressed: boolean): string {
  return `${id.slice(0, 4)}/${id}${uncompressed ? "" : ".cacnk"}`;
}

/**
 * The chunk ID a store-relative name `<4 hex>/<id>[.cacnk]` stands for, or
 * undefined for anything else (index files, temporary files, strays).
 */
export function chunkIdOfKey(key: string): string | undefined {
  const match = /^([0-9a-f]{4})\/(\1[0-9a-f]{60})(?:\.cacnk)?$/.exec(key);
  return match ? match[2] : undefined;
}
