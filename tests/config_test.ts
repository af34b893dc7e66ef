import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  EMPTY_CONFIG,
  formatConfig,
  locationMatches,
  parseConfig,
  storeOptionsFor,
} from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";
import { parseIni, resolveS3Auth } from "../src/store/s3_credentials.ts";

const GOOD = JSON.stringify({
  "s3-credentials": {
    "http://127.0.0.1:9000": { "access-key": "A", "secret-key": "B", "aws-region": "eu-1" },
  },
  "store-options": {
    "/srv/store*": { uncompressed: true, timeout: 5_000_000_000, n: 3 },
    "https://cdn.example.com/stores/*/": { "error-retry": 1, "http-auth": "Bearer x" },
  },
});

Deno.test("config: Go desync's format parses, with Go's defaults filled in", () => {
  const config = parseConfig(GOOD, "c.json");
  const local = storeOptionsFor(config, "/srv/store1", "/");
  assertEquals(local.uncompressed, true);
  assertEquals(local.timeoutNs, 5_000_000_000);
  assertEquals(local.errorRetry, 3);
  assertEquals(local.errorRetryBaseIntervalNs, 500_000_000);
  const cdn = storeOptionsFor(config, "https://cdn.example.com/stores/a", "/");
  assertEquals([cdn.errorRetry, cdn.httpAuth, cdn.uncompressed], [1, "Bearer x", false]);
  const none = storeOptionsFor(config, "/elsewhere", "/");
  assertEquals([none.errorRetry, none.uncompressed], [3, false]);
  assertEquals(config.s3Credentials?.get("http://127.0.0.1:9000")?.accessKey, "A");
  assertEquals(parseConfig("{}", "e.json").storeOptions, null);
});

Deno.test("config: unknown keys and bad values are errors naming the key", () => {
  const cases: [unknown, RegExp][] = [
    [{ "store-option": {} }, /unknown key "store-option"/],
    [
      { "store-options": { "/x": { "uncompresed": true } } },
      /store-options\["\/x"\]\.uncompresed: unknown key/,
    ],
    [
      { "store-options": { "/x": { timeout: "1s" } } },
      /store-options\["\/x"\]\.timeout: want whole nanoseconds/,
    ],
    [{ "store-options": { "/x": { "error-retry": -1 } } }, /error-retry: want a whole number/],
    [{ "store-options": { "/x": { uncompressed: "yes" } } }, /uncompressed: want true or false/],
    [{ "store-options": { "/x": 5 } }, /store-options\["\/x"\]: want an object/],
    [{ "store-options": { "[x": {} } }, /store-options\["\[x"\]: bad pattern/],
    [
      { "s3-credentials": { "http://h": { "access_key": "a" } } },
      /s3-credentials\["http:\/\/h"\]\.access_key: unknown key/,
    ],
    [{ "s3-credentials": { "http://h": { "access-key": 1 } } }, /access-key: want a string/],
    [[], /want a JSON object/],
  ];
  for (const [json, pattern] of cases) {
    const error = assertThrows(() => parseConfig(JSON.stringify(json), "c.json"), ConfigError);
    assert(pattern.test(error.message), `${error.message} !~ ${pattern}`);
    assert(error.message.startsWith("config c.json: "), error.message);
  }
  assertThrows(() => parseConfig("{ nope", "c.json"), ConfigError, "not valid JSON");
});

Deno.test("config: two globs matching one store is an error naming both", () => {
  const config = parseConfig(
    JSON.stringify({ "store-options": { "/s/*": {}, "/s/a*": {}, "/t": {} } }),
    "c.json",
  );
  assertThrows(() => storeOptionsFor(config, "/s/abc", "/"), ConfigError, '"/s/a*"');
  assertEquals(storeOptionsFor(config, "/t", "/").errorRetry, 3);
});

Deno.test("config: locations match as Go desync matches them", () => {
  // URLs ignore one trailing slash; `*` stops at `/`.
  assert(locationMatches("http://h/s/", "http://h/s", "/"));
  assert(locationMatches("http://h/s", "http://h/s/", "/"));
  assert(!locationMatches("http://h/*", "http://h/a/b", "/"));
  // Paths compare absolute, relative to the working directory.
  assert(locationMatches("store", "/work/store", "/work"));
  assert(locationMatches("/work/./st*", "../work/store/", "/work"));
  assert(!locationMatches("/work/st*", "/work/store/x", "/"));
});

Deno.test("config: printed as Go desync prints it", () => {
  // What Go desync's `config` printed for GOOD (checked by hand against the binary
  // in tests/e2e/config_test.ts, which compares the two tools' output directly).
  assertEquals(
    formatConfig(parseConfig(GOOD, "c.json")),
    `{
  "s3-credentials": {
    "http://127.0.0.1:9000": {
      "access-key": "A",
      "secret-key": "B",
      "aws-region": "eu-1"
    }
  },
  "store-options": {
    "/srv/store*": {
      "n": 3,
      "timeout": 5000000000,
      "error-retry": 3,
      "error-retry-base-interval": 500000000,
      "uncompressed": true
    },
    "https://cdn.example.com/stores/*/": {
      "http-auth": "Bearer x",
      "error-retry": 1,
      "error-retry-base-interval": 500000000,
      "uncompressed": false
    }
  }
}`,
  );
  assertEquals(
    formatConfig(EMPTY_CONFIG),
    `{\n  "s3-credentials": null,\n  "store-options": null\n}`,
  );
});

Deno.test("S3 credentials: S3_* first, then AWS_*, then the config file (keys or a credentials file)", async () => {
  const config = parseConfig(GOOD, "c.json");
  const url = "s3+http://127.0.0.1:9000/bucket/store";
  assertEquals(
    await resolveS3Auth(
      url,
      { S3_ACCESS_KEY: "s", S3_SECRET_KEY: "t", AWS_ACCESS_KEY_ID: "x" },
      config,
    ),
    { accessKeyId: "s", secretAccessKey: "t", sessionToken: undefined, region: "us-east-1" },
  );
  assertEquals(
    await resolveS3Auth(url, {
      AWS_ACCESS_KEY_ID: "x",
      AWS_SECRET_ACCESS_KEY: "y",
      AWS_REGION: "r",
    }, config),
    { accessKeyId: "x", secretAccessKey: "y", sessionToken: undefined, region: "r" },
  );
  assertEquals(await resolveS3Auth(url, {}, config), {
    accessKeyId: "A",
    secretAccessKey: "B",
    region: "eu-1",
  });
  assertEquals(await resolveS3Auth("s3+https://127.0.0.1:9000/b", {}, config), {
    region: "us-east-1",
  });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/credentials`,
      "[default]\naws_access_key_id = D\naws_secret_access_key = E\n\n[other]\n" +
        "aws_access_key_id=O\naws_secret_access_key=P\naws_session_token=T\n",
    );
    const withFile = parseConfig(
      JSON.stringify({
        "s3-credentials": {
          "http://h": { "aws-credentials-file": `${dir}/credentials`, "aws-profile": "other" },
        },
      }),
      "c.json",
    );
    assertEquals(await resolveS3Auth("s3+http://h/b", {}, withFile), {
      accessKeyId: "O",
      secretAccessKey: "P",
      sessionToken: "T",
      region: "us-east-1",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertEquals(parseIni("# c\n[profile x]\nK = v\n").x, { k: "v" });
});
