/** Small helpers for answering node:http requests and reading bounded bodies. */
import type http from "node:http";
import type { AccessLog } from "./access_log.ts";
import { concatBytes } from "../util/bytes.ts";

/** A request body over the limit (413). */
export class BodyTooLarge extends Error {}

/** The client closed its connection before its request body was read: nobody to answer. */
export class ClientGone extends Error {
  constructor() {
    super("the client went away");
  }
}

/** A short text answer: status, text, extra headers, and whether to close the connection. */
export type Reply = (
  status: number,
  text: string,
  headers?: Record<string, string>,
  close?: boolean,
) => void;

/** `sendText` bound to one response. */
export function replier(response: http.ServerResponse): Reply {
  return (status, text, headers, close) => sendText(response, status, text, headers, close);
}

/** Sends a short text answer; `close` asks the client to drop the connection. */
export function sendText(
  response: http.ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
  close = false,
) {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = new TextEncoder().encode(`${text}\n`);
  response.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(body.length),
    ...(close ? { connection: "close" } : {}),
    ...headers,
  });
  response.end(body);
}

/**
 * Reads a request body of at most `limit` bytes. A Content-Length over the limit
 * is refused before anything is read; a longer body is refused as soon as it
 * passes the limit.
 */
export function readBody(request: http.IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = request.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new BodyTooLarge(`body of ${declared} bytes, at most ${limit} allowed`));
  }
  // A client gone already would never send the events waited for below.
  if (request.destroyed) return Promise.reject(new ClientGone());
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    let total = 0;
    const onData = (part: Uint8Array) => {
      total += part.length;
      if (total > limit) {
        cleanup();
        reject(new BodyTooLarge(`body over ${limit} bytes`));
        return;
      }
      parts.push(part);
    };
    const onEnd = () => {
      cleanup();
      resolve(concatBytes(parts));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onAborted = () => onError(new ClientGone());
    const cleanup = () => {
      request.off("data", onData).off("end", onEnd).off("error", onError);
      request.off("aborted", onAborted);
    };
    request.on("data", onData).on("end", onEnd).on("error", onError).on("aborted", onAborted);
  });
}

/** Calls `log` once the response is done, with its status and body size. */
export function logWhenDone(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  log: AccessLog | undefined,
  bytes: () => number,
) {
  if (!log) return;
  response.once("close", () => log(request, response.statusCode, bytes()));
}
