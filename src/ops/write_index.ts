/**
 * Writes an index where a user named it: a file (under a temporary name,
 * renamed when complete), standard output (`-`), an HTTP(S) URL (PUT, as Go
 * desync's index stores do), or an S3 or SFTP location.
 */
import { DesyncError } from "../errors.ts";
import { encodeIndex, type Index } from "../format/index.ts";
import {
  accessHint,
  DEFAULT_HTTP_OPTIONS,
  HttpNetworkError,
  type HttpOptions,
  HttpTransport,
} from "../util/http_client.ts";
import { type IndexContext, isStoreIndexLocation, writeRemoteIndex } from "../store/index_store.ts";
import { parseHttpLocation } from "../store/http_location.ts";
import { writeAtomically } from "../util/fs.ts";

export async function writeIndex(
  location: string,
  index: Index,
  http: HttpOptions = DEFAULT_HTTP_OPTIONS,
  signal?: AbortSignal,
  remote: IndexContext = {},
): Promise<void> {
  const bytes = encodeIndex(index);
  if (location === "-") return await writeAll(Deno.stdout, bytes);
  if (isStoreIndexLocation(location)) return await writeRemoteIndex(location, bytes, remote);
  if (/^https?:\/\//i.test(location)) return await putIndex(location, bytes, http, signal);
  await writeAtomically(location, (file) => writeAll(file, bytes));
}

async function writeAll(file: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array) {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

async function putIndex(url: string, bytes: Uint8Array, http: HttpOptions, signal?: AbortSignal) {
  parseHttpLocation(url, "index");
  let transport: HttpTransport;
  try {
    transport = new HttpTransport(http);
  } catch (error) {
    throw new DesyncError(`${url}: ${(error as Error).message}`, { cause: error });
  }
  try {
    // Only the status matters; an answer's body is read no further than a page.
    const response = await transport.request("PUT", url, {
      body: bytes,
      signal,
      maxBytes: 64 << 10,
    });
    if (response.status < 200 || response.status > 299) {
      throw new DesyncError(
        `${url}: cannot write index: HTTP status ${response.status}${
          accessHint(response.status, http)
        }`,
      );
    }
  } catch (error) {
    if (error instanceof HttpNetworkError) {
      throw new DesyncError(`${url}: cannot write index: ${error.message}`, { cause: error });
    }
    throw error;
  } finally {
    transport.close();
  }
}
