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

export { chunkIdOfKey, chunkKey } from "../format/store_layout.ts";
