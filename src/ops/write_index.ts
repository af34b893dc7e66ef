/**
 * Writes an index where a user named it: a file (under a temporary name,
 * renamed when complete), standard output (`-`), an HTTP(S) URL (PUT, as Go
 * desync's index stores do), or an S3 or SFTP location.
 */
import { encodeIndex, type Index } from "../format/index.ts";
import { DEFAULT_HTTP_OPTIONS, type HttpOptions } from "../util/http_client.ts";
import {
  type IndexContext,
  indexSettings,
  isStoreIndexLocation,
  writeRemoteIndex,
} from "../store/index_store.ts";
import { stdout, writeAll, writeAtomically } from "../util/fs.ts";
import { indexOverHttp } from "./index_http.ts";

/** Writes `index`, or an index encoded already (tar -i's, made without an object per chunk). */
export async function writeIndex(
  location: string,
  index: Index | Uint8Array,
  http: HttpOptions = DEFAULT_HTTP_OPTIONS,
  signal?: AbortSignal,
  remote: IndexContext = {},
): Promise<void> {
  const bytes = index instanceof Uint8Array ? index : encodeIndex(index);
  if (location === "-") return await writeAll(stdout, bytes);
  if (isStoreIndexLocation(location)) {
    return await writeRemoteIndex(location, bytes, remote, signal);
  }
  if (/^https?:\/\//i.test(location)) {
    // The config file's options for the index's directory, as when it is read.
    const settings = remote.settingsFor ? (await indexSettings(location, remote)).http : http;
    return await putIndex(location, bytes, settings, signal);
  }
  await writeAtomically(location, (file) => writeAll(file, bytes));
}

async function putIndex(url: string, bytes: Uint8Array, http: HttpOptions, signal?: AbortSignal) {
  // Only the status matters; an answer's body is read no further than a page.
  await indexOverHttp("PUT", url, http, { body: bytes, maxBytes: 64 << 10, signal });
}
