/** Loads an index from a file path, standard input (`-`), an HTTP(S) URL, S3 or SFTP. */
import { DesyncError } from "../errors.ts";
import { decodeIndex, type Index } from "../format/index.ts";
import {
  DEFAULT_HTTP_OPTIONS,
  HttpNetworkError,
  type HttpOptions,
  HttpTransport,
} from "../store/http_client.ts";
import { type IndexContext, isStoreIndexLocation, readStoreIndex } from "../store/index_store.ts";
import { describeFsError } from "../util/fs.ts";

export async function readIndex(
  location: string,
  http: HttpOptions = DEFAULT_HTTP_OPTIONS,
  remote: IndexContext = {},
): Promise<Index> {
  const bytes = await readIndexBytes(location, http, remote);
  return decodeIndex(bytes, location === "-" ? "<stdin>" : location);
}

async function readIndexBytes(
  location: string,
  http: HttpOptions,
  remote: IndexContext,
): Promise<Uint8Array> {
  if (isStoreIndexLocation(location)) return await readStoreIndex(location, remote);
  if (location === "-") {
    return new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
  }
  if (/^https?:\/\//i.test(location)) {
    // As in Go desync, an index gets the config file's options for its directory.
    const dir = location.slice(0, location.lastIndexOf("/"));
    return await fetchIndex(
      location,
      remote.settingsFor ? (await remote.settingsFor(dir)).http : http,
    );
  }
  try {
    return await Deno.readFile(location);
  } catch (error) {
    throw new DesyncError(`${location}: cannot read index: ${describeFsError(error)}`, {
      cause: error,
    });
  }
}

async function fetchIndex(url: string, http: HttpOptions): Promise<Uint8Array> {
  let transport: HttpTransport;
  try {
    transport = new HttpTransport(http);
  } catch (error) {
    throw new DesyncError(`${url}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const response = await transport.request("GET", url);
    if (response.status !== 200) {
      throw new DesyncError(`${url}: cannot read index: HTTP status ${response.status}`);
    }
    return response.body;
  } catch (error) {
    if (error instanceof HttpNetworkError) {
      throw new DesyncError(`${url}: cannot read index: ${error.message}`, { cause: error });
    }
    throw error;
  } finally {
    transport.close();
  }
}
