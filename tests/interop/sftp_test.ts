/**
 * The SFTP store against a real OpenSSH sshd (internal-sftp): the conformance
 * suite (compressed and uncompressed), make and extract through the CLI with
 * the index on the server too, host keys checked against known_hosts, Go
 * desync in both directions, and a failover group whose first member is down.
 */
import { assertEquals, assertMatch } from "../assert.ts";
import { SFTP_ENV } from "../../scripts/permissions.ts";
import { DEFAULT_HTTP_OPTIONS } from "../../src/util/http_client.ts";
import { chunkKey } from "../../src/store/settings.ts";
import { SftpStore } from "../../src/store/sftp.ts";
import {
  missingTools,
  pseudoRandomFast,
  removeDir,
  runCli,
  runTool,
  sha256sum,
  tempDir,
} from "../helpers.ts";
import { storeConformance } from "../store/conformance.ts";
import {
  freePort,
  GO_DESYNC,
  GO_MISSING,
  SSHD_MISSING,
  type SshdPeer,
  startSshd,
} from "./peers.ts";

const SFTP_FLAGS = [
  "--allow-read",
  "--allow-write",
  "--allow-net=127.0.0.1",
  `--allow-env=${SFTP_ENV.join(",")}`,
];

for (const uncompressed of [false, true]) {
  storeConformance(
    `sftp store (OpenSSH)${uncompressed ? " (uncompressed)" : ""}`,
    async (codec, digest) => {
      const root = await tempDir();
      // A store read from must exist: a missing directory is the store's failure.
      await Deno.mkdir(`${root}/store`);
      const sshd = await startSshd();
      const store = new SftpStore(`sftp://root@127.0.0.1:${sshd.port}${root}/store`, {
        codec,
        digests: [digest],
        settings: { http: { ...DEFAULT_HTTP_OPTIONS, errorRetry: 0 }, uncompressed },
        sftp: {
          explicitIdentity: sshd.userKey,
          identityFiles: [],
          knownHostsFiles: [sshd.knownHosts],
          acceptUnknownHostKeys: false,
          concurrency: 4,
        },
      });
      return {
        store,
        seed: (chunk) => store.storeChunk(chunk),
        corrupt: (id) =>
          Deno.writeFile(`${root}/store/${chunkKey(id, uncompressed)}`, new Uint8Array([9, 9])),
        async cleanup() {
          await sshd.stop();
          await removeDir(root);
        },
      };
    },
    { ignore: SSHD_MISSING, writable: true, prunable: true },
  );
}

async function withSshd(
  t: Deno.TestContext,
  fn: (sshd: SshdPeer, dir: string, url: string) => Promise<void>,
) {
  const dir = await tempDir(t);
  const sshd = await startSshd();
  try {
    await fn(sshd, dir, `sftp://root@127.0.0.1:${sshd.port}${dir}`);
  } finally {
    await sshd.stop();
    await removeDir(dir);
  }
}

/** An ssh-agent holding `key`, on a socket in a short-named directory (sockets have short paths). */
async function startAgent(key: string) {
  const socketDir = await Deno.makeTempDir({ prefix: "agent" });
  const socket = `${socketDir}/s`;
  const started = await runTool("ssh-agent", ["-a", socket, "-s"]);
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(started.stdout)?.[1]);
  assertEquals(started.code, 0, started.stderr);
  const added = await runTool("ssh-add", ["-q", key], { env: { SSH_AUTH_SOCK: socket } });
  assertEquals(added.code, 0, added.stderr);
  return {
    socket,
    async stop() {
      Deno.kill(pid, "SIGTERM");
      await Deno.remove(socketDir, { recursive: true }).catch(() => {});
    },
  };
}

const keys = (sshd: SshdPeer) => ["--identity", sshd.userKey, "--known-hosts", sshd.knownHosts];

Deno.test({
  name: "sftp: make onto the server (index too), extract, verify and prune back through the CLI",
  ignore: Boolean(SSHD_MISSING),
  async fn(t) {
    await withSshd(t, async (sshd, dir, url) => {
      await Deno.writeFile(`${dir}/a`, pseudoRandomFast(8 << 20, 61));
      await Deno.writeFile(`${dir}/b`, pseudoRandomFast(1 << 20, 62));
      const cli = (...args: string[]) => runCli([...keys(sshd), ...args], SFTP_FLAGS);
      for (const name of ["a", "b"]) {
        const made = await cli(
          "make",
          "-s",
          `${url}/store`,
          `${url}/idx/${name}.caibx`,
          `${dir}/${name}`,
        );
        assertEquals(made.code, 0, made.stderr);
      }
      // tar -i's index (from a table that grows in place) goes over SFTP as written locally.
      await Deno.mkdir(`${dir}/tree`);
      await Deno.copyFile(`${dir}/b`, `${dir}/tree/b`);
      const tarred = await cli("tar", "-i", `${url}/idx/t.caidx`, `${dir}/tree`);
      assertEquals(tarred.code, 0, tarred.stderr);
      assertEquals((await cli("tar", "-i", `${dir}/t.caidx`, `${dir}/tree`)).code, 0);
      assertEquals(
        await Deno.readFile(`${dir}/idx/t.caidx`),
        await Deno.readFile(`${dir}/t.caidx`),
      );
      const out = await cli("extract", "-s", `${url}/store`, `${url}/idx/a.caibx`, `${dir}/out`);
      assertEquals(out.code, 0, out.stderr);
      assertEquals(await sha256sum(`${dir}/out`), await sha256sum(`${dir}/a`));

      assertEquals((await cli("verify", "-s", `${url}/store`)).code, 0);
      const ids = (await cli("list-chunks", `${url}/idx/b.caibx`)).stdout.trim().split("\n");
      await Deno.writeFile(`${dir}/store/${chunkKey(ids[0], false)}`, new Uint8Array([1]));
      const found = await cli("verify", "-r", "-s", `${url}/store`);
      assertEquals(found.code, 1);
      assertMatch(found.stdout, new RegExp(`chunk ${ids[0]} in store sftp://.* is invalid`));
      const pruned = await cli("prune", "-y", "-s", `${url}/store`, `${url}/idx/b.caibx`);
      assertEquals(pruned.code, 0, pruned.stderr);
      const left = [...Deno.readDirSync(`${dir}/store`)].flatMap((prefix) =>
        [...Deno.readDirSync(`${dir}/store/${prefix.name}`)].map((file) => file.name.slice(0, 64))
      );
      assertEquals(left.sort(), [...new Set(ids.slice(1))].sort());
    });
  },
});

Deno.test({
  name: "sftp: host keys are checked against known_hosts; unknown ones only with the option",
  ignore: Boolean(SSHD_MISSING),
  async fn(t) {
    await withSshd(t, async (sshd, dir, url) => {
      await Deno.writeFile(`${dir}/blob`, pseudoRandomFast(256 << 10, 71));
      const made = await runCli(
        ["make", "-s", `${dir}/store`, `${dir}/blob.caibx`, `${dir}/blob`],
      );
      assertEquals(made.code, 0, made.stderr);
      const extract = (...flags: string[]) =>
        runCli(
          // --no-seed-output: every run must reach the server (the last output holds it all).
          [...flags, "extract", "--no-seed-output", "-s", `${url}/store`]
            .concat([`${dir}/blob.caibx`, `${dir}/out`]),
          SFTP_FLAGS,
        );
      await Deno.writeTextFile(`${dir}/empty_known_hosts`, "");
      const unknown = await extract(
        "--identity",
        sshd.userKey,
        "--known-hosts",
        `${dir}/empty_known_hosts`,
      );
      assertEquals(unknown.code, 1);
      assertMatch(
        unknown.stderr,
        /^desync: store sftp:\/\/.*: host key of \[127\.0\.0\.1\]:\d+ is not in known_hosts .*--accept-unknown-host-keys\n$/,
      );
      const accepted = await extract(
        "--identity",
        sshd.userKey,
        "--known-hosts",
        `${dir}/empty_known_hosts`,
        "--accept-unknown-host-keys",
      );
      assertEquals(accepted.code, 0, accepted.stderr);
      // The user's key listed as the host's: a changed key, refused even with the option.
      const userPub = (await Deno.readTextFile(`${sshd.userKey}.pub`)).split(" ");
      await Deno.writeTextFile(
        `${dir}/wrong`,
        `[127.0.0.1]:${sshd.port} ${userPub[0]} ${userPub[1]}\n`,
      );
      const changed = await extract(
        "--identity",
        sshd.userKey,
        "--known-hosts",
        `${dir}/wrong`,
        "--accept-unknown-host-keys",
      );
      assertEquals(changed.code, 1);
      assertMatch(
        changed.stderr,
        /does not match known_hosts: it changed, or someone is in between/,
      );
      // With an agent holding the key, and neither --identity nor keys in ~/.ssh.
      if (!missingTools("ssh-agent", "ssh-add")) {
        const agent = await startAgent(sshd.userKey);
        try {
          const viaAgent = await runCli(
            [
              "--known-hosts",
              sshd.knownHosts,
              "extract",
              "-s",
              `${url}/store`,
              `${dir}/blob.caibx`,
              `${dir}/agent-out`,
            ],
            [
              ...SFTP_FLAGS.slice(0, 2),
              `--allow-net=127.0.0.1,unix:${agent.socket}`,
              SFTP_FLAGS[3],
            ],
            { env: { SSH_AUTH_SOCK: agent.socket, HOME: `${dir}/empty-home` } },
          );
          assertEquals(viaAgent.code, 0, viaAgent.stderr);
          assertEquals(await sha256sum(`${dir}/agent-out`), await sha256sum(`${dir}/blob`));
        } finally {
          await agent.stop();
        }
      }
      // An identity file that is not there is named.
      const refused = await extract("--identity", `${dir}/none`, "--known-hosts", sshd.knownHosts);
      assertEquals(refused.code, 1);
      assertMatch(refused.stderr, /identity .*none: no such file/);
    });
  },
});

Deno.test({
  name:
    "sftp: Go desync extracts what we made, we extract what it made; failover past a dead server",
  ignore: Boolean(SSHD_MISSING || GO_MISSING),
  async fn(t) {
    await withSshd(t, async (sshd, dir, url) => {
      await Deno.writeFile(`${dir}/ours`, pseudoRandomFast(4 << 20, 81));
      await Deno.writeFile(`${dir}/theirs`, pseudoRandomFast(4 << 20, 82));
      await Deno.mkdir(`${dir}/store`);
      // Go desync runs `ssh HOST -s sftp` through CASYNC_SSH_PATH (the port is in the wrapper).
      const goUrl = `sftp://127.0.0.1${dir}/store`;
      const goEnv = { CASYNC_SSH_PATH: sshd.sshWrapper };
      const ours = (...args: string[]) => runCli([...keys(sshd), ...args], SFTP_FLAGS);
      const go = (...args: string[]) => runTool(GO_DESYNC, args, { env: goEnv });

      const made = await ours("make", "-s", `${url}/store`, `${dir}/ours.caibx`, `${dir}/ours`);
      assertEquals(made.code, 0, made.stderr);
      const goMade = await go("make", "-s", goUrl, `${dir}/theirs.caibx`, `${dir}/theirs`);
      assertEquals(goMade.code, 0, goMade.stderr);

      const goOut = await go("extract", "-s", goUrl, `${dir}/ours.caibx`, `${dir}/go-out`);
      assertEquals(goOut.code, 0, goOut.stderr);
      assertEquals(await sha256sum(`${dir}/go-out`), await sha256sum(`${dir}/ours`));
      const ourOut = await ours(
        "extract",
        "-s",
        `${url}/store`,
        `${dir}/theirs.caibx`,
        `${dir}/our-out`,
      );
      assertEquals(ourOut.code, 0, ourOut.stderr);
      assertEquals(await sha256sum(`${dir}/our-out`), await sha256sum(`${dir}/theirs`));

      const dead = `sftp://root@127.0.0.1:${freePort()}${dir}/store`;
      const group = await ours(
        "-e",
        "0",
        "extract",
        "-s",
        `${dead}|${url}/store`,
        `${dir}/theirs.caibx`,
        `${dir}/group-out`,
      );
      assertEquals(group.code, 0, group.stderr);
      assertEquals(await sha256sum(`${dir}/group-out`), await sha256sum(`${dir}/theirs`));
    });
  },
});
