/**
 * Index files kept beside chunk stores: read from and written to S3
 * (`s3+http://host/bucket/dir/x.caibx`) and SFTP (`sftp://host/dir/x.caibx`);
 * HTTP(S) is ops/index_http.ts's. As in Go desync, the settings that apply are
 * those of the directory the index is in (its location up to the last `/`).
 */
import { DesyncError, StoreError, UsageError } from "../errors.ts";
import type { S3Auth } from "./s3_client.ts";
import { isS3Location, parseS3Location } from "./s3_location.ts";
import { DEFAULT_STORE_SETTINGS, type StoreSettings } from "./settings.ts";
import {
  DEFAULT_SFTP_OPTIONS,
  isSftpLocation,
  parseSftpLocation,
  type SftpOptions,
} from "./sftp_location.ts";

/** What reaching a remote index needs; the parts of a StoreContext that apply. */
export interface IndexContext {
  settingsFor?: (location: string) => Promise<StoreSettings>;
  s3Auth?: (location: string) => Promise<S3Auth>;
  sftp?: SftpOptions;
}

/** Whether an index location is handled here (S3 or SFTP; HTTP is read by read_index.ts). */
export function isStoreIndexLocation(location: string): boolean {
  return isS3Location(location) || isSftpLocation(location);
}

/** The settings of the directory an index is in (any remote kind, HTTP included). */
export async function indexSettings(
  location: string,
  context: IndexContext,
): Promise<StoreSettings> {
  const dir = location.slice(0, location.lastIndexOf("/"));
  return context.settingsFor ? await context.settingsFor(dir) : DEFAULT_STORE_SETTINGS;
}

/** The S3 client for the bucket and the key of the index object. */
async function s3Object(location: string, context: IndexContext) {
  const parsed = parseS3Location(location);
  const key = parsed.prefix.replace(/\/$/, "");
  if (!key) throw new UsageError(`${location}: no index file name after the bucket`);
  const auth = context.s3Auth ? await context.s3Auth(location) : { region: "us-east-1" };
  const settings = await indexSettings(location, context);
  // Loaded when asked for: most runs read no index from S3, and the signer costs start-up time.
  const { S3Client } = await import("./s3_client.ts");
  return { client: new S3Client(location, parsed, auth, settings.http), key };
}

async function sftpFile(location: string, context: IndexContext) {
  const parsed = parseSftpLocation(location);
  const settings = await indexSettings(location, context);
  const { SftpSessions } = await import("./sftp.ts");
  const sessions = new SftpSessions(
    location,
    parsed,
    context.sftp ?? DEFAULT_SFTP_OPTIONS,
    settings,
  );
  return { sessions, path: parsed.path };
}

/** Store errors about an index file, reworded to name the file and what was being done. */
async function aboutIndex<T>(location: string, doing: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StoreError) {
      throw new DesyncError(`${location}: cannot ${doing} index: ${error.detail}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Reads an index file's bytes from S3 or SFTP, no more than `maxBytes`; a
 * missing one is an error naming it.
 */
export function readStoreIndex(
  location: string,
  context: IndexContext,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  return aboutIndex(location, "read", () => readIndexBytes(location, context, maxBytes, signal));
}

async function readIndexBytes(
  location: string,
  context: IndexContext,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  let data: Uint8Array | undefined;
  if (isS3Location(location)) {
    const { client, key } = await s3Object(location, context);
    try {
      data = await client.getObject(key, "index", signal, maxBytes);
    } finally {
      client.close();
    }
  } else {
    const { sessions, path } = await sftpFile(location, context);
    try {
      data = await sessions.run(
        "reading index",
        (connection) => connection.readFile(path, maxBytes, signal),
        signal,
      );
    } finally {
      await sessions.close();
    }
  }
  if (data === undefined) throw new DesyncError(`${location}: cannot read index: no such file`);
  return data;
}

/** Writes an index file to S3 or SFTP (temporary name, then rename). */
export function writeRemoteIndex(
  location: string,
  bytes: Uint8Array,
  context: IndexContext,
  signal?: AbortSignal,
): Promise<void> {
  return aboutIndex(location, "write", () => writeIndexBytes(location, bytes, context, signal));
}

async function writeIndexBytes(
  location: string,
  bytes: Uint8Array,
  context: IndexContext,
  signal?: AbortSignal,
): Promise<void> {
  if (isS3Location(location)) {
    const { client, key } = await s3Object(location, context);
    try {
      await client.putObject(key, bytes, "application/octet-stream", "index", signal);
    } finally {
      client.close();
    }
  } else {
    const { sessions, path } = await sftpFile(location, context);
    try {
      await sessions.run(
        "writing index",
        (connection) => connection.writeFile(path, bytes, signal),
        signal,
      );
    } finally {
      await sessions.close();
    }
  }
}
