/** An SFTP location without a user name, where USER cannot be read, says how to give one. */
import { assertMatch, assertRejects } from "../assert.ts";
import { UsageError } from "../../src/errors.ts";
import { SftpConnection } from "../../src/store/sftp_connection.ts";
import { DEFAULT_SFTP_OPTIONS, parseSftpLocation } from "../../src/store/sftp_location.ts";

Deno.test("sftp: no user name in the location and none known names both ways to give one", async () => {
  const name = "sftp://127.0.0.1:1/store";
  const error = await assertRejects(
    () =>
      SftpConnection.open(name, parseSftpLocation(name), {
        ...DEFAULT_SFTP_OPTIONS,
        defaultUser: undefined,
      }, 1000),
    UsageError,
  );
  assertMatch(error.message, /sftp:\/\/USER@host\/… or set USER \(read with --allow-env=USER\)$/);
});
