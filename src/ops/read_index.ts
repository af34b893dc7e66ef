/** Loads an index from a file path, standard input (`-`), an HTTP(S) URL, S3 or SFTP. */
import { DesyncError } from "../errors.ts";
import { decodeIndex, type Index, MAX_INDEX_SIZE } from "../format/index.ts";
import { DEFAULT_HTTP_OPTIONS, type HttpOptions } from "../util/http_client.ts";
import { concatBytes } from "../util/bytes.ts";
import {
  type IndexContext,
  indexSettings,
  isStoreIndexLocation,
  readStoreIndex,
} from "../store/index_store.ts";
import { describeFsError } from "../util/fs.ts";
import { readRegularFile, UnfitFile } from "../util/regular_file.ts";
import { indexOverHttp } from "./index_http.ts";

export interface ReadIndexOptions {
  /** Larger indexes are refused before they are read whole (default MAX_INDEX_SIZE). */
  maxBytes?: number;
  signal?: AbortSignal;
}

export async function readIndex(
  location: string,
  http: HttpOptions = DEFAULT_HTTP_OPTIONS,
  remote: IndexContext = {},
  options: ReadIndexOptions = {},
): Promise<Index> {
  const bytes = await readIndexBytes(
    location,
    http,
    remote,
    options.maxBytes ?? MAX_INDEX_SIZE,
    options,
  );
  return decodeIndex(bytes, location === "-" ? "<stdin>" : location);
}

async function readIndexBytes(
  location: string,
  http: HttpOptions,
  remote: IndexContext,
  maxBytes: number,
  options: ReadIndexOptions,
): Promise<Uint8Array> {
  if (isStoreIndexLocation(location)) {
    return await readStoreIndex(location, remote, maxBytes, options.signal);
  }
  const tooLarge = (name: string) =>
    new DesyncError(`${name}: cannot read index: larger than ${maxBytes} bytes, not an index`);
  if (location === "-") {
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const part of Deno.stdin.readable) {
      total += part.length;
      if (total > maxBytes) throw tooLarge("<stdin>");
      parts.push(part);
    }
    return concatBytes(parts);
  }
  if (/^https?:\/\//i.test(location)) {
    // As in Go desync, an index gets the config file's options for its directory.
    const settings = remote.settingsFor ? (await indexSettings(location, remote)).http : http;
    return await fetchIndex(location, settings, maxBytes, options);
  }
  try {
    // Only a regular file: a FIFO would block, and a huge file (or one growing as it is read)
    // is not an index.
    return await readRegularFile(location, maxBytes);
  } catch (error) {
    if (error instanceof UnfitFile) {
      throw error.info.isFile
        ? tooLarge(location)
        : new DesyncError(`${location}: cannot read index: not a regular file`);
    }
    throw new DesyncError(`${location}: cannot read index: ${describeFsError(error)}`, {
      cause: error,
    });
  }
}

function fetchIndex(
  url: string,
  http: HttpOptions,
  maxBytes: number,
  options: ReadIndexOptions,
): Promise<Uint8Array> {
  return indexOverHttp("GET", url, http, { maxBytes, signal: options.signal });
}
