/** Loads an index from a file path, standard input (`-`), an HTTP(S) URL, S3 or SFTP. */
import { DesyncError } from "../errors.ts";
import { decodeIndex, type Index, MAX_INDEX_SIZE } from "../format/index.ts";
import {
  accessHint,
  DEFAULT_HTTP_OPTIONS,
  HttpBodyTooLarge,
  HttpNetworkError,
  type HttpOptions,
  HttpTransport,
} from "../util/http_client.ts";
import { parseHttpLocation } from "../store/http_location.ts";
import { concatBytes } from "../util/bytes.ts";
import { type IndexContext, isStoreIndexLocation, readStoreIndex } from "../store/index_store.ts";
import { describeFsError } from "../util/fs.ts";

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
  if (isStoreIndexLocation(location)) return await readStoreIndex(location, remote);
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
    const dir = location.slice(0, location.lastIndexOf("/"));
    const settings = remote.settingsFor ? (await remote.settingsFor(dir)).http : http;
    return await fetchIndex(location, settings, maxBytes, options);
  }
  try {
    // Only a regular file: a FIFO would block, and a huge file is not an index.
    const info = await Deno.stat(location);
    if (!info.isFile) throw new DesyncError(`${location}: cannot read index: not a regular file`);
    if (info.size > maxBytes) throw tooLarge(location);
    return await Deno.readFile(location);
  } catch (error) {
    if (error instanceof DesyncError) throw error;
    throw new DesyncError(`${location}: cannot read index: ${describeFsError(error)}`, {
      cause: error,
    });
  }
}

async function fetchIndex(
  url: string,
  http: HttpOptions,
  maxBytes: number,
  options: ReadIndexOptions,
): Promise<Uint8Array> {
  parseHttpLocation(url, "index");
  let transport: HttpTransport;
  try {
    transport = new HttpTransport(http);
  } catch (error) {
    throw new DesyncError(`${url}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const response = await transport.request("GET", url, { maxBytes, signal: options.signal });
    if (response.status !== 200) {
      throw new DesyncError(
        `${url}: cannot read index: HTTP status ${response.status}${
          accessHint(response.status, http)
        }`,
      );
    }
    return response.body;
  } catch (error) {
    if (error instanceof HttpBodyTooLarge) {
      throw new DesyncError(
        `${url}: cannot read index: larger than ${maxBytes} bytes, not an index`,
      );
    }
    if (error instanceof HttpNetworkError) {
      throw new DesyncError(`${url}: cannot read index: ${error.message}`, { cause: error });
    }
    throw error;
  } finally {
    transport.close();
  }
}
