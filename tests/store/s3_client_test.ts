import { assertEquals, assertThrows } from "../assert.ts";
import { UsageError } from "../../src/errors.ts";
import { parseListPage, S3Client, signS3Request } from "../../src/store/s3_client.ts";
import { parseS3Location } from "../../src/store/s3_location.ts";
import { DEFAULT_HTTP_OPTIONS } from "../../src/util/http_client.ts";

// The example requests and signatures of AWS's S3 API reference ("Signature
// Calculations for the Authorization Header: Transferring Payload in a Single
// Chunk"), also recomputed with openssl by hand from the SigV4 specification.
const AWS_EXAMPLE = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  region: "us-east-1",
};
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

for (
  const [what, url, signature] of [
    [
      "GET bucket lifecycle",
      "https://examplebucket.s3.amazonaws.com/?lifecycle",
      "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
    ],
    [
      "GET bucket (list objects)",
      "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
      "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    ],
  ]
) {
  Deno.test(`SigV4: AWS's documented example "${what}" gets AWS's signature`, async () => {
    const headers = await signS3Request(
      "GET",
      url,
      { "x-amz-content-sha256": EMPTY_SHA256 },
      AWS_EXAMPLE,
      { datetime: "20130524T000000Z" },
    );
    assertEquals(
      headers.authorization,
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
        `SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${signature}`,
    );
    assertEquals(headers["x-amz-date"], "20130524T000000Z");
  });
}

Deno.test("SigV4: no credentials, no signature (public buckets)", async () => {
  assertEquals(
    await signS3Request("GET", "http://h/b/k", { a: "1" }, { region: "us-east-1" }),
    { a: "1" },
  );
});

Deno.test("S3 locations: bucket, prefix, path style by default, ?lookup=dns or auto on AWS", () => {
  assertEquals(parseS3Location("s3+http://127.0.0.1:9000/bucket/a/b/"), {
    protocol: "http:",
    host: "127.0.0.1:9000",
    bucket: "bucket",
    prefix: "a/b/",
    virtualHost: false,
  });
  assertEquals(parseS3Location("s3+https://s3.example.net/b").prefix, "");
  assertEquals(parseS3Location("s3+https://s3.example.net/b?lookup=dns").virtualHost, true);
  assertEquals(parseS3Location("s3+https://s3.example.net/b?lookup=auto").virtualHost, false);
  assertEquals(
    parseS3Location("s3+https://s3.eu-west-1.amazonaws.com/b?lookup=auto").virtualHost,
    true,
  );
  assertThrows(() => parseS3Location("s3+http://host/"), UsageError, "no bucket");
  assertThrows(() => parseS3Location("s3+http://host/b?lookup=x"), UsageError, "lookup");
  assertThrows(() => parseS3Location("s3+http://host/b?region=x"), UsageError, "region");
});

Deno.test("S3 object URLs: path style and virtual-host style, keys percent-encoded", () => {
  const path = new S3Client("p", parseS3Location("s3+http://h:1/b/p"), { region: "r" }, {
    ...DEFAULT_HTTP_OPTIONS,
  });
  const dns = new S3Client("d", parseS3Location("s3+https://h/b?lookup=dns"), { region: "r" }, {
    ...DEFAULT_HTTP_OPTIONS,
  });
  try {
    assertEquals(path.url("p/abcd/x y.cacnk"), "http://h:1/b/p/abcd/x%20y.cacnk");
    assertEquals(path.url("", "list-type=2"), "http://h:1/b/?list-type=2");
    assertEquals(dns.url("k"), "https://b.h/k");
  } finally {
    path.close();
    dns.close();
  }
});

Deno.test("ListObjectsV2 pages: keys with XML entities, continuation tokens", () => {
  const page = parseListPage(
    `<?xml version="1.0"?><ListBucketResult><IsTruncated>true</IsTruncated>` +
      `<Contents><Key>s/a&amp;b</Key><Size>3</Size></Contents>` +
      `<Contents><Key>s/c&#x3c;d</Key></Contents>` +
      `<NextContinuationToken>1/x+y=&amp;</NextContinuationToken></ListBucketResult>`,
  );
  assertEquals(page, { keys: ["s/a&b", "s/c<d"], next: "1/x+y=&" });
  assertEquals(
    parseListPage("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"),
    { keys: [], next: undefined },
  );
  assertThrows(
    () => parseListPage("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"),
    Error,
    "continuation",
  );
});

Deno.test("store URLs with a bad %-escape are usage errors naming the store", async () => {
  const { parseSftpLocation } = await import("../../src/store/sftp_location.ts");
  assertThrows(
    () => parseS3Location("s3+http://h/b%zz/"),
    UsageError,
    "store s3+http://h/b%zz/: bad %-escape in its path",
  );
  assertThrows(() => parseSftpLocation("sftp://h/x%zz"), UsageError, "bad %-escape in its path");
  assertThrows(
    () => parseSftpLocation("sftp://%zz@h/x"),
    UsageError,
    "bad %-escape in its user name",
  );
});
