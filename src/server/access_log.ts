/**
 * Access log lines in the common log format
 * (`host - - [day/Mon/year:HH:MM:SS +0000] "METHOD /path HTTP/1.1" status bytes`),
 * to a file opened for appending or to stdout (`-`).
 */
import type http from "node:http";
import { DesyncError } from "../errors.ts";
import { describeFsError } from "../util/fs.ts";
import { hexEscape } from "../util/printable.ts";

export interface AccessLog {
  (request: http.IncomingMessage, status: number, bytes: number): void;
  /** Closes the file; lines logged after are dropped (responses closing as the server stops). */
  close(): void;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export function commonLogLine(
  host: string,
  method: string,
  target: string,
  version: string,
  status: number,
  bytes: number,
  when = new Date(),
): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const date = `${pad(when.getUTCDate())}/${MONTHS[when.getUTCMonth()]}/${when.getUTCFullYear()}:` +
    `${pad(when.getUTCHours())}:${pad(when.getUTCMinutes())}:${pad(when.getUTCSeconds())} +0000`;
  // The target comes from the client: control characters, quotes, backslashes and bytes past
  // ASCII are written as nginx writes them (\xHH), so a line stays one line and reads back.
  // deno-lint-ignore no-control-regex
  const safe = target.replace(/[\x00-\x1f\x7f-\xff"\\]/g, hexEscape);
  return `${host} - - [${date}] "${method} ${safe} HTTP/${version}" ${status} ${bytes || "-"}\n`;
}

/** Opens the log `--log` names; undefined logs nothing. */
export function openAccessLog(target: string | undefined): AccessLog | undefined {
  if (target === undefined) return undefined;
  let file: { writeSync(bytes: Uint8Array): number; close?(): void };
  if (target === "-") {
    file = { writeSync: (bytes) => Deno.stdout.writeSync(bytes) };
  } else {
    try {
      file = Deno.openSync(target, { append: true, create: true, mode: 0o644 });
    } catch (error) {
      throw new DesyncError(`--log ${target}: cannot open: ${describeFsError(error)}`);
    }
  }
  const encoder = new TextEncoder();
  let broken = false;
  const log = (request: http.IncomingMessage, status: number, bytes: number) => {
    if (broken) return;
    const line = commonLogLine(
      request.socket?.remoteAddress ?? "-",
      request.method ?? "-",
      request.url ?? "-",
      request.httpVersion ?? "1.1",
      status,
      bytes,
    );
    try {
      // One write per line: appends of a line this short are not interleaved.
      file.writeSync(encoder.encode(line));
    } catch (error) {
      broken = true;
      console.error(`desync: --log ${target}: cannot write: ${describeFsError(error)}`);
    }
  };
  return Object.assign(log, {
    close() {
      if (broken) return;
      broken = true;
      file.close?.();
    },
  });
}
