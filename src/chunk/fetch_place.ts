/**
 * Worker side of `fetch-place`: GET each chunk of a batch, a few at a time,
 * and hand each body to `place` (decode, verify, write) as it arrives. The
 * HTTP client is kept per settings, so connections stay open across batches.
 */
import type { FetchPlaceJob, FetchProblem } from "./codec_pool.ts";
import {
  type BodyBuffer,
  HttpNetworkError,
  type HttpOptions,
  HttpTransport,
} from "../util/http_client.ts";

const transports = new Map<string, HttpTransport>();
/** Body buffers kept between jobs, one per lane: no allocation per chunk. */
const spare: BodyBuffer[] = [];

/** Past this, bodies are read the plain way: a lane's buffer must stay small. */
const MAX_LANE_BUFFER = 16 << 20;

function bufferFor(job: FetchPlaceJob): BodyBuffer | undefined {
  if (job.maxBytes >= MAX_LANE_BUFFER) return undefined;
  const held = spare.pop();
  if (held && !held.buffer.detached && held.buffer.byteLength > job.maxBytes) return held;
  return { buffer: new ArrayBuffer(job.maxBytes + 1) };
}

function transportFor(http: HttpOptions): HttpTransport {
  const key = JSON.stringify(http);
  let transport = transports.get(key);
  if (!transport) transports.set(key, transport = new HttpTransport(http));
  return transport;
}

/** How often a job looks at the pool's stop flag while requests are in flight. */
const STOP_POLL_MS = 50;

export async function fetchPlace(
  job: FetchPlaceJob & { stop?: Int32Array },
  signal: AbortSignal | undefined,
  place: (index: number, body: Uint8Array) => Promise<FetchProblem | null>,
): Promise<(FetchProblem | null)[]> {
  const transport = transportFor(job.http);
  const skipped: FetchProblem = { kind: "skipped" };
  const outcomes: (FetchProblem | null)[] = new Array(job.items.length).fill(skipped);
  // The first failure ends the batch: nothing more is asked, and requests in flight stop.
  const stop = new AbortController();
  const closed = () => stop.abort(signal?.reason);
  if (signal?.aborted) closed();
  signal?.addEventListener("abort", closed, { once: true });
  // A stopping pool waits for jobs that write into a store: they end at once, mid-request.
  const stopped = () => job.stop !== undefined && Atomics.load(job.stop, 0) !== 0;
  if (stopped()) closed();
  const poll = job.stop && setInterval(() => stopped() && closed(), STOP_POLL_MS);
  let next = 0;
  const fetchOne = async (i: number, into?: BodyBuffer): Promise<FetchProblem | null> => {
    let response;
    try {
      response = await transport.request("GET", job.items[i].url, {
        maxBytes: job.maxBytes,
        into,
        signal: stop.signal,
      });
    } catch (error) {
      if (stop.signal.aborted) return skipped;
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
    // Nothing is written once the job is stopped.
    if (stop.signal.aborted) return skipped;
    return await place(i, response.body);
  };
  const lane = async (into?: BodyBuffer) => {
    while (next < job.items.length && !stop.signal.aborted) {
      const i = next++;
      try {
        // The body lives in the lane's buffer until its next request: placed by then.
        outcomes[i] = await fetchOne(i, into);
      } catch (error) {
        stop.abort();
        throw error;
      }
      const outcome = outcomes[i];
      if (outcome && outcome.kind !== "missing") stop.abort();
    }
  };
  const buffers = Array.from({ length: Math.max(1, job.concurrency) }, () => bufferFor(job));
  // Every lane has ended (none is left running into the next job) before the job answers.
  const ended = await Promise.allSettled(buffers.map(lane));
  clearInterval(poll);
  signal?.removeEventListener("abort", closed);
  const failed = ended.find((result) => result.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  for (const buffer of buffers) if (buffer) spare.push(buffer);
  return outcomes;
}
