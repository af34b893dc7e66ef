/**
 * The S3 client against a server that answers wrongly on purpose (a raw TCP
 * fake): listings that are not ListObjectsV2 results or never end, error codes
 * that would break a message's line.
 */
import { assertEquals, assertRejects } from "../assert.ts";
import { StoreError } from "../../src/errors.ts";
import { S3Client } from "../../src/store/s3_client.ts";
import { parseS3Location } from "../../src/store/s3_location.ts";
import { send, withRawServer } from "../fixtures/raw_http_server.ts";

function answer(status: number, body: string): string {
  const bytes = new TextEncoder().encode(body);
  return `HTTP/1.1 ${status} X\r\ncontent-length: ${bytes.length}\r\n\r\n${body}`;
}

/** A client of `base`/bucket/store/ with quick timeouts and one retry. */
function client(base: string): S3Client {
  const name = `s3+${base}/bucket/store`;
  return new S3Client(name, parseS3Location(name), { region: "us-east-1" }, {
    timeoutMs: 2000,
    errorRetry: 1,
    retryBaseMs: 1,
  });
}

/** Every key listed; a listing that goes on past 100 keys fails the test instead of hanging it. */
async function listAll(s3: S3Client): Promise<string[]> {
  const keys = [];
  for await (const key of s3.listKeys("store/")) {
    keys.push(key);
    if (keys.length > 100) throw new Error("the listing does not end");
  }
  return keys;
}

Deno.test("S3 listing: a 200 answer that is no ListObjectsV2 result is an error, not an empty store", async () => {
  await withRawServer(async (conn) => {
    await send(conn, answer(200, "<html><body>Welcome to nginx!</body></html>"));
    return "keep";
  }, async ({ base }) => {
    const s3 = client(base);
    try {
      await assertRejects(
        () => listAll(s3),
        StoreError,
        `store s3+${base}/bucket/store: listing: the answer is not a ListObjectsV2 result`,
      );
    } finally {
      s3.close();
    }
  });
});

Deno.test("S3 listing: a server repeating its continuation token fails instead of listing for ever", async () => {
  const key = `store/0000/${"0".repeat(64)}.cacnk`;
  await withRawServer(async (conn) => {
    await send(
      conn,
      answer(
        200,
        `<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>${key}</Key></Contents>` +
          `<NextContinuationToken>again</NextContinuationToken></ListBucketResult>`,
      ),
    );
    return "keep";
  }, async ({ base, stats }) => {
    const s3 = client(base);
    try {
      await assertRejects(
        () => listAll(s3),
        StoreError,
        "listing: the server repeats its continuation token",
      );
      assertEquals(stats.requests, 2, "the first page and the one asked for with its token");
    } finally {
      s3.close();
    }
  });
});

Deno.test("S3 errors: a <Code> holding a line break or an escape is not quoted into the message", async () => {
  await withRawServer(async (conn) => {
    await send(
      conn,
      answer(500, "<Error><Code>Internal&#10;desync: forged\x1b[2J</Code></Error>"),
    );
    return "keep";
  }, async ({ base }) => {
    const s3 = client(base);
    try {
      const error = await assertRejects(
        () => s3.getObject("store/k", "chunk k", undefined, 1024),
        StoreError,
      );
      assertEquals(error.message, `store s3+${base}/bucket/store: GET chunk k: HTTP status 500`);
    } finally {
      s3.close();
    }
  });
});

Deno.test("S3 errors: a 403 names the store and S3's code", async () => {
  await withRawServer(async (conn) => {
    await send(conn, answer(403, "<Error><Code>AccessDenied</Code><Message>no</Message></Error>"));
    return "keep";
  }, async ({ base }) => {
    const s3 = client(base);
    try {
      await assertRejects(
        () => s3.getObject("store/k", "chunk k", undefined, 1024),
        StoreError,
        `store s3+${base}/bucket/store: GET chunk k: HTTP status 403 AccessDenied: the S3 credentials were refused`,
      );
    } finally {
      s3.close();
    }
  });
});
