/** The servers' shared flags: certificate files are read at once, a bad one is a usage error. */
import { assertEquals, assertRejects } from "../assert.ts";
import { serverSettings } from "../../src/cli/server_options.ts";
import { UsageError } from "../../src/errors.ts";
import { tempDirTest } from "../helpers.ts";

const listen = () => ({ hostname: "127.0.0.1", port: 0 });

tempDirTest("cli: --cert and --key files are read, an unreadable one named", async (dir) => {
  await Deno.writeTextFile(`${dir}/cert.pem`, "CERT");
  await Deno.writeTextFile(`${dir}/key.pem`, "KEY");
  const base = { listen: ["127.0.0.1:0"], cert: `${dir}/cert.pem`, key: `${dir}/key.pem` };
  // Contents that are no certificate are refused too (server_tls_files_test.ts has the rest).
  const garbage = await assertRejects(() => serverSettings(base, listen), UsageError);
  assertEquals(garbage.message.endsWith("no PEM certificate in the certificate file"), true);
  const missing = await assertRejects(
    () => serverSettings({ ...base, key: `${dir}/none.pem` }, listen),
    UsageError,
  );
  assertEquals(missing.message, `--key ${dir}/none.pem: no such file or directory`);
  const folder = await assertRejects(
    () => serverSettings({ ...base, cert: dir }, listen),
    UsageError,
  );
  assertEquals(folder.message, `--cert ${dir}: is a directory`);
});
