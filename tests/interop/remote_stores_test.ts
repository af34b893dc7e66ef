/**
 * Remote stores against real peers: nginx for HTTP (reads and PUTs), and the
 * real casync behind a real OpenSSH sshd for the SSH store. The conformance
 * suite runs against both; the CLI extracts casync-made blobs through them.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { HttpStore } from "../../src/store/http.ts";
import { DEFAULT_HTTP_OPTIONS } from "../../src/util/http_client.ts";
import { LocalStore } from "../../src/store/local.ts";
import { SshStore } from "../../src/store/ssh.ts";
import { mustRun, removeDir, runCli, sha256sum, tempDir } from "../helpers.ts";
import { storeConformance } from "../store/conformance.ts";
import { CASYNC_MISSING, casyncMake, storeIds } from "./casync_fixture.ts";
import {
  NGINX_MISSING,
  type NginxPeer,
  SSHD_MISSING,
  type SshdPeer,
  startNginx,
  startSshd,
} from "./peers.ts";

const HTTP_FLAGS = ["--allow-read", "--allow-write", "--allow-net=127.0.0.1"];
const SSH_FLAGS = [
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env=CASYNC_SSH_PATH,CASYNC_REMOTE_PATH",
];
const SSH_MISSING = SSHD_MISSING || CASYNC_MISSING;

storeConformance("http store (nginx)", async (codec, digest) => {
  const root = await tempDir();
  await Deno.mkdir(`${root}/store`);
  const nginx = await startNginx(root);
  const local = await LocalStore.open(`${root}/store`, { codec, digests: [digest] });
  const store = new HttpStore(`${nginx.url}/store/`, {
    codec,
    digests: [digest],
    http: { ...DEFAULT_HTTP_OPTIONS, errorRetry: 0 },
  });
  return {
    store,
    seed: (chunk) => local.storeChunk(chunk),
    corrupt: (id) => Deno.writeFile(local.chunkPath(id), new Uint8Array([9, 9, 9])),
    async cleanup() {
      await nginx.stop();
      await removeDir(root);
    },
  };
}, { ignore: NGINX_MISSING, writable: true });

storeConformance("ssh store (casync behind sshd)", async (codec, digest) => {
  const root = await tempDir();
  const sshd = await startSshd();
  const local = await LocalStore.open(`${root}/store`, { codec, digests: [digest], create: true });
  const store = SshStore.open(`ssh://127.0.0.1${root}/store`, {
    codec,
    digests: [digest],
    ssh: { sshPath: sshd.sshWrapper, remotePath: "casync", sessions: 2 },
  });
  return {
    store,
    seed: (chunk) => local.storeChunk(chunk),
    corrupt: (id) => Deno.writeFile(local.chunkPath(id), new Uint8Array([9, 9, 9])),
    async cleanup() {
      await sshd.stop();
      await removeDir(root);
    },
  };
}, { ignore: SSH_MISSING });

interface Peers {
  dir: string;
  fixture: Awaited<ReturnType<typeof casyncMake>>;
  nginx: NginxPeer;
  sshd: SshdPeer;
}

/** A casync-made 64 MiB blob served by nginx and by casync over sshd. */
async function withPeers(t: Deno.TestContext, fn: (peers: Peers) => Promise<void>) {
  const dir = await tempDir(t);
  const fixture = await casyncMake(dir, { name: "remote-64MiB", size: 64 << 20, kind: "random" });
  const nginx = await startNginx(dir);
  const sshd = await startSshd();
  try {
    await fn({ dir, fixture, nginx, sshd });
  } finally {
    await nginx.stop();
    await sshd.stop();
    await removeDir(dir);
  }
}

const REMOTE_MISSING = NGINX_MISSING || SSH_MISSING;

Deno.test({
  name: "remote stores: casync's 64 MiB blob extracts byte-identical over HTTP and over SSH",
  ignore: Boolean(REMOTE_MISSING),
  async fn(t) {
    await withPeers(t, async ({ dir, fixture, nginx, sshd }) => {
      const want = await sha256sum(fixture.blob);
      const http = await runCli(
        [
          "extract",
          "-s",
          `${nginx.url}/remote-64MiB.store/`,
          `${nginx.url}/remote-64MiB.caibx`,
          `${dir}/h`,
        ],
        HTTP_FLAGS,
      );
      assertEquals(http.code, 0, http.stderr);
      assertEquals(await sha256sum(`${dir}/h`), want);

      const env = { CASYNC_SSH_PATH: sshd.sshWrapper };
      const ssh = await runCli(
        ["extract", "-n", "4", "-s", `ssh://127.0.0.1${fixture.store}`, fixture.index, `${dir}/s`],
        SSH_FLAGS,
        { env },
      );
      assertEquals(ssh.code, 0, ssh.stderr);
      assertEquals(await sha256sum(`${dir}/s`), want);
      assertEquals(sshd.clientProcesses(), [], "no ssh process outlives the command");
      assertEquals(await sshd.settledSessions(), []);
    });
  },
});

Deno.test({
  name: "remote stores: a chunk missing over HTTP is taken from SSH; chop and make PUT into HTTP",
  ignore: Boolean(REMOTE_MISSING),
  async fn(t) {
    await withPeers(t, async ({ dir, fixture, nginx, sshd }) => {
      const ids = storeIds(fixture.store);
      await Deno.mkdir(`${dir}/partial`);
      for (const id of ids.slice(1)) {
        await Deno.mkdir(`${dir}/partial/${id.slice(0, 4)}`, { recursive: true });
        await Deno.copyFile(
          `${fixture.store}/${id.slice(0, 4)}/${id}.cacnk`,
          `${dir}/partial/${id.slice(0, 4)}/${id}.cacnk`,
        );
      }
      const args = [
        "extract",
        "-s",
        `${nginx.url}/partial`,
        "-s",
        `ssh://127.0.0.1${fixture.store}`,
        fixture.index,
        `${dir}/out`,
      ];
      const result = await runCli(args, [...SSH_FLAGS, "--allow-net=127.0.0.1"], {
        env: { CASYNC_SSH_PATH: sshd.sshWrapper },
      });
      assertEquals(result.code, 0, result.stderr);
      assertEquals(await sha256sum(`${dir}/out`), await sha256sum(fixture.blob));

      const put = await runCli(
        ["chop", "-s", `${nginx.url}/pushed/`, fixture.index, fixture.blob],
        HTTP_FLAGS,
      );
      assertEquals(put.code, 0, put.stderr);
      assertEquals(storeIds(`${dir}/pushed`), ids);
      await mustRun("casync", [
        "extract",
        `--store=${dir}/pushed`,
        fixture.index,
        `${dir}/casync-out`,
      ]);
      assertEquals(await sha256sum(`${dir}/casync-out`), await sha256sum(fixture.blob));

      const made = await runCli(
        ["make", "-s", `${nginx.url}/made/`, `${dir}/made.caibx`, fixture.blob],
        HTTP_FLAGS,
      );
      assertEquals(made.code, 0, made.stderr);
      assertEquals(await Deno.readFile(`${dir}/made.caibx`), await Deno.readFile(fixture.index));
      assertEquals(storeIds(`${dir}/made`), ids);
    });
  },
});

Deno.test({
  name: "remote stores: SSH sessions end on failure and on Ctrl-C; no orphan processes",
  ignore: Boolean(REMOTE_MISSING),
  async fn(t) {
    await withPeers(t, async ({ dir, fixture, sshd }) => {
      const env = { CASYNC_SSH_PATH: sshd.sshWrapper };
      const victim = storeIds(fixture.store)[100];
      await Deno.rename(
        `${fixture.store}/${victim.slice(0, 4)}/${victim}.cacnk`,
        `${dir}/${victim}.moved`,
      );
      const failed = await runCli(
        ["extract", "-n", "4", "-s", `ssh://127.0.0.1${fixture.store}`, fixture.index, `${dir}/f`],
        SSH_FLAGS,
        { env },
      );
      assertEquals(failed.code, 1);
      assertMatch(failed.stderr, new RegExp(`chunk ${victim} missing from store ssh://`));
      await Deno.rename(
        `${dir}/${victim}.moved`,
        `${fixture.store}/${victim.slice(0, 4)}/${victim}.cacnk`,
      );
      assertEquals(sshd.clientProcesses(), []);
      assertEquals(await sshd.settledSessions(), []);

      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          ...SSH_FLAGS,
          new URL("../../src/main.ts", import.meta.url).pathname,
          "extract",
          "-n",
          "1",
          "-s",
          `ssh://127.0.0.1${fixture.store}`,
          fixture.index,
          `${dir}/interrupted`,
        ],
        env,
        stdout: "null",
        stderr: "piped",
      }).spawn();
      // Interrupt once a session runs (one session at ~30 MB/s takes seconds for 64 MiB).
      for (let i = 0; i < 250 && sshd.clientProcesses().length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert(sshd.clientProcesses().length > 0, "sessions were running");
      child.kill("SIGINT");
      const { code, stderr } = await child.output();
      assertEquals(code, 130, new TextDecoder().decode(stderr));
      assertMatch(new TextDecoder().decode(stderr), /interrupted/);
      assertEquals(sshd.clientProcesses(), [], "every ssh client was waited for");
      assertEquals(await sshd.settledSessions(), []);
      const leftovers = [...Deno.readDirSync(dir)].filter((e) => e.name.includes("interrupted"));
      assertEquals(leftovers, []);
    });
  },
});
