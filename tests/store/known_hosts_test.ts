import { createHmac } from "node:crypto";
import { assertEquals } from "../assert.ts";
import { checkHostKey, knownHostsName } from "../../src/store/known_hosts.ts";
import { decodeBase64 } from "../../src/util/base64.ts";
import { missingTools, mustRun, removeDir, tempDir } from "../helpers.ts";

const hmac = (key: Uint8Array, data: Uint8Array) =>
  new Uint8Array(createHmac("sha1", key).update(data).digest());

/** Two throwaway ed25519 public keys, as known_hosts writes them and as raw blobs. */
async function keys(dir: string) {
  const out = [];
  for (const name of ["k1", "k2"]) {
    await mustRun("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/${name}`]);
    const [type, base64] = (await Deno.readTextFile(`${dir}/${name}.pub`)).split(" ");
    out.push({ line: `${type} ${base64}`, blob: decodeBase64(base64) });
  }
  return out;
}

Deno.test({
  name: "known_hosts: plain, [host]:port, patterns, negation, @revoked; ssh-keygen -H hashed names",
  ignore: Boolean(missingTools("ssh-keygen")),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const [k1, k2] = await keys(dir);
      assertEquals(knownHostsName("h", 22), "h");
      assertEquals(knownHostsName("h", 2222), "[h]:2222");
      const check = (text: string, host: string, port: number, key: Uint8Array) =>
        checkHostKey([text], host, port, key, hmac);

      const plain = `# comment\nalpha,beta ${k1.line}\n[gamma]:2222 ${k1.line} c\n`;
      assertEquals(check(plain, "beta", 22, k1.blob), "known");
      assertEquals(check(plain, "beta", 22, k2.blob), "mismatch");
      assertEquals(check(plain, "gamma", 2222, k1.blob), "known");
      assertEquals(check(plain, "gamma", 22, k1.blob), "unknown");
      assertEquals(check(plain, "delta", 22, k1.blob), "unknown");

      const patterns = `*.example.com,!bad.example.com ${k1.line}\nhost? ${k2.line}\n`;
      assertEquals(check(patterns, "a.example.com", 22, k1.blob), "known");
      assertEquals(check(patterns, "bad.example.com", 22, k1.blob), "unknown");
      assertEquals(check(patterns, "host1", 22, k2.blob), "known");
      assertEquals(check(patterns, "host12", 22, k2.blob), "unknown");
      assertEquals(check(`@revoked * ${k1.line}\n${plain}`, "alpha", 22, k1.blob), "revoked");
      assertEquals(check(`@cert-authority * ${k2.line}\n`, "alpha", 22, k2.blob), "unknown");

      // ssh-keygen -H rewrites names into |1|salt|hmac form; the lookup must still find them.
      await Deno.writeTextFile(`${dir}/known_hosts`, plain);
      await mustRun("ssh-keygen", ["-q", "-H", "-f", `${dir}/known_hosts`]);
      const hashed = await Deno.readTextFile(`${dir}/known_hosts`);
      assertEquals(hashed.includes("alpha"), false);
      assertEquals(check(hashed, "alpha", 22, k1.blob), "known");
      assertEquals(check(hashed, "gamma", 2222, k1.blob), "known");
      assertEquals(check(hashed, "gamma", 2222, k2.blob), "mismatch");
      assertEquals(check(hashed, "epsilon", 22, k1.blob), "unknown");
    } finally {
      await removeDir(dir);
    }
  },
});
