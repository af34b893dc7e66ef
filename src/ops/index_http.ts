/** An index file read (GET) or written (PUT) over HTTP(S), each error naming the URL. */
import { DesyncError } from "../errors.ts";
import {
  accessHint,
  HttpBodyTooLarge,
  HttpNetworkError,
  type HttpOptions,
  HttpTransport,
} from "../util/http_client.ts";
import { parseHttpLocation } from "../store/http_location.ts";

export async function indexOverHttp(
  method: "GET" | "PUT",
  url: string,
  http: HttpOptions,
  init: { body?: Uint8Array; maxBytes: number; signal?: AbortSignal },
): Promise<Uint8Array> {
  parseHttpLocation(url, "index");
  const cannot = `${url}: cannot ${method === "GET" ? "read" : "write"} index`;
  let transport: HttpTransport;
  try {
    transport = new HttpTransport(http);
  } catch (error) {
    throw new DesyncError(`${url}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const response = await transport.request(method, url, init);
    const ok = method === "GET" ? response.status === 200 : response.status >= 200 &&
      response.status <= 299;
    if (!ok) {
      const hint = accessHint(response.status, http);
      throw new DesyncError(`${cannot}: HTTP status ${response.status}${hint}`);
    }
    return response.body;
  } catch (error) {
    if (error instanceof HttpBodyTooLarge) {
      throw new DesyncError(`${cannot}: larger than ${init.maxBytes} bytes, not an index`);
    }
    if (error instanceof HttpNetworkError) {
      throw new DesyncError(`${cannot}: ${error.message}`, { cause: error });
    }
    throw error;
  } finally {
    transport.close();
  }
}
