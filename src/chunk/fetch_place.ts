/**
 * Worker side of `fetch-place`: GET each chunk of a batch, a few at a time,
 * and hand each body to `place` (decode, verify, write) as it arrives. The
 * HTTP client is kept per settings, so connections stay open across batches.
 */
import type { FetchPlaceJob, FetchProblem } from "./codec_pool.ts";
import { HttpNetworkError, type HttpOptions, HttpTransport } from "../util/http_client.ts";

const transports = new Map<string, HttpTransport>();

function transportFor(http: HttpOptions): HttpTransport {
  const key = JSON.stringify(http);
  let transport = transports.get(key);
  if (!transport) transports.set(key, transport = new HttpTransport(http));
  return transport;
}

export async function fetchPlace(
  job: FetchPlaceJob,
  place: (index: number, body: Uint8Array) => Promise<FetchProblem | null>,
): Promise<(FetchProblem | null)[]> {
  const transport = transportFor(job.http);
  const outcomes: (FetchProblem | null)[] = new Array(job.items.length).fill(null);
  let next = 0;
  const fetchOne = async (i: number): Promise<FetchProblem | null> => {
    let response;
    try {
      response = await transport.request("GET", job.items[i].url, { maxBytes: job.maxBytes });
    } catch (error) {
      if (!(error instanceof HttpNetworkError)) throw error;
      return { kind: "request", message: error.message };
    }
    if (response.status === 404) return { kind: "missing" };
    if (response.status < 200 || response.status > 299) {
      return {
        kind: "request",
        message: `HTTP status ${response.status}`,
        status: response.status,
      };
    }
    return await place(i, response.body);
  };
  const lane = async () => {
    while (next < job.items.length) {
      const i = next++;
      outcomes[i] = await fetchOne(i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, job.concurrency) }, lane));
  return outcomes;
}
