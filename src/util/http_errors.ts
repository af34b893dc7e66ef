/** The HTTP clients' errors and the buffer type they share (see http_client.ts, http1.ts). */

/**
 * A buffer a caller lends for response bodies, read into it without a fresh
 * allocation per request (a BYOB read moves the memory into a new ArrayBuffer
 * object: `buffer` is updated to it). A body read into it is valid until the
 * holder's next use.
 */
export interface BodyBuffer {
  buffer: ArrayBuffer;
}

/** The request could not be completed (connection refused, timeout, TLS failure, …). */
export class HttpNetworkError extends Error {}

/** A failure that another attempt cannot cure: it is reported at once, not retried. */
export class HttpFinalError extends HttpNetworkError {}

/** The answer's body is larger than the request allows; reading stopped there. */
export class HttpBodyTooLarge extends HttpFinalError {
  constructor(readonly limit: number) {
    super(`the answer's body exceeds ${limit} bytes`);
  }
}
