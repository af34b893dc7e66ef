/**
 * Our servers against independent peers: the real casync as the client of our
 * `pull` over a real sshd (CASYNC_REMOTE_PATH pointing at this tool), and the
 * Go desync both ways: its extract from our chunk-server and over SSH from our
 * pull; our extract from its chunk-server and over SSH from its pull.
 */
import { assertEquals } from "../assert.ts";
import { MAIN, mustRun, removeDir, REPO, runCli, runTool, sha256sum, tempDir } from "../helpers.ts";
import { CASYNC_MISSING, type CasyncFixture, casyncMake } from "./casync_fixture.ts";
import { freePort, SSHD_MISSING, type SshdPeer, startSshd } from "./peers.ts";
import { startServerProcess } from "../server/serve_helpers.ts";

const GO_DESYNC = `${REPO}../shared/peers/desync-go`;
const GO_MISSING = (() => {
  try {
    return Deno.statSync(GO_DESYNC).isFile ? false : "no Go desync peer";
  } catch {
    return `the Go desync peer is not at ${GO_DESYNC}`;
  }
})();
const SSH_FLAGS = [
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env=CASYNC_SSH_PATH,CASYNC_REMOTE_PATH",
];
const CLIENT = ["--allow-read", "--allow-write", "--allow-net=127.0.0.1"];

/** A script that runs our CLI with the flags `pull` needs: what CASYNC_REMOTE_PATH names. */
async function ourRemote(dir: string): Promise<string> {
  const path = `${dir}/desync`;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\nexec '${Deno.execPath()}' run --quiet --allow-read '${MAIN}' "$@"\n`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

async function withFixture(
  t: Deno.TestContext,
  fn: (dir: string, f: CasyncFixture, sshd?: SshdPeer) => Promise<void>,
  sshd = false,
) {
  const dir = await tempDir(t);
  const peer = sshd ? await startSshd() : undefined;
  try {
    const f = await casyncMake(dir, { name: "peer", size: 8 << 20, kind: "random" });
    await fn(dir, f, peer);
  } finally {
    await peer?.stop();
    await removeDir(dir);
  }
}

Deno.test({
  name: "pull: casync over a real sshd extracts through our pull, and so does our SSH store",
  ignore: Boolean(CASYNC_MISSING || SSHD_MISSING),
  async fn(t) {
    await withFixture(t, async (dir, f, sshd) => {
      const env = { CASYNC_SSH_PATH: sshd!.sshWrapper, CASYNC_REMOTE_PATH: await ourRemote(dir) };
      await mustRun("casync", ["extract", `--store=127.0.0.1:${f.store}`, f.index, `${dir}/c`], {
        env,
      });
      assertEquals(await sha256sum(`${dir}/c`), await sha256sum(f.blob));
      // casync also fetches the index itself through our pull.
      await mustRun(
        "casync",
        ["extract", `--store=127.0.0.1:${f.store}`, `127.0.0.1:${f.index}`, `${dir}/ci`],
        { env },
      );
      assertEquals(await sha256sum(`${dir}/ci`), await sha256sum(f.blob));
      const ours = await runCli(
        ["extract", "-n", "4", "-s", `ssh://127.0.0.1${f.store}`, f.index, `${dir}/d`],
        SSH_FLAGS,
        { env },
      );
      assertEquals(ours.code, 0, ours.stderr);
      assertEquals(await sha256sum(`${dir}/d`), await sha256sum(f.blob));
      assertEquals(await sshd!.settledSessions(), []);
    }, true);
  },
});

Deno.test({
  name: "chunk-server: Go desync extracts from ours, ours from Go desync's (same store)",
  ignore: Boolean(GO_MISSING || CASYNC_MISSING),
  async fn(t) {
    await withFixture(t, async (dir, f) => {
      const want = await sha256sum(f.blob);
      const ours = await startServerProcess(
        ["chunk-server", "-s", f.store, "-l", "127.0.0.1:0"],
        ["--allow-net=127.0.0.1", "--allow-read"],
      );
      try {
        await mustRun(GO_DESYNC, ["extract", "-s", ours.url, f.index, `${dir}/go`]);
      } finally {
        assertEquals((await ours.stop()).code, 0);
      }
      assertEquals(await sha256sum(`${dir}/go`), want);

      const port = freePort();
      const go = new Deno.Command(GO_DESYNC, {
        args: ["chunk-server", "-s", f.store, "-l", `127.0.0.1:${port}`],
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        await waitForPort(port);
        const result = await runCli(
          ["extract", "-s", `http://127.0.0.1:${port}/`, f.index, `${dir}/ours`],
          CLIENT,
        );
        assertEquals(result.code, 0, result.stderr);
      } finally {
        go.kill("SIGTERM");
        await go.status;
      }
      assertEquals(await sha256sum(`${dir}/ours`), want);
    });
  },
});

Deno.test({
  name: "pull: Go desync's SSH store reads from our pull, ours from Go desync's pull",
  ignore: Boolean(GO_MISSING || CASYNC_MISSING || SSHD_MISSING),
  async fn(t) {
    await withFixture(t, async (dir, f, sshd) => {
      const want = await sha256sum(f.blob);
      const store = `ssh://127.0.0.1${f.store}`;
      const toOurs = {
        CASYNC_SSH_PATH: sshd!.sshWrapper,
        CASYNC_REMOTE_PATH: await ourRemote(dir),
      };
      const go = await runTool(GO_DESYNC, ["extract", "-s", store, f.index, `${dir}/go`], {
        env: toOurs,
      });
      assertEquals(go.code, 0, go.stderr);
      assertEquals(await sha256sum(`${dir}/go`), want);

      // Go desync's pull takes only the three-dash form, which our SSH store sends.
      const goRemote = GO_DESYNC;
      const ours = await runCli(
        ["extract", "-n", "4", "-s", store, f.index, `${dir}/ours`],
        SSH_FLAGS,
        { env: { CASYNC_SSH_PATH: sshd!.sshWrapper, CASYNC_REMOTE_PATH: goRemote } },
      );
      assertEquals(ours.code, 0, ours.stderr);
      assertEquals(await sha256sum(`${dir}/ours`), want);
    }, true);
  },
});

Deno.test({
  name: "index-server: indexes read over a real sshd from casync's pull and from ours",
  ignore: Boolean(CASYNC_MISSING || SSHD_MISSING),
  async fn(t) {
    await withFixture(t, async (dir, f, sshd) => {
      const want = await Deno.readFile(f.index);
      const dirOf = f.index.slice(0, f.index.lastIndexOf("/"));
      const name = f.index.slice(dirOf.length + 1);
      for (const remote of ["casync", await ourRemote(dir)]) {
        const server = await startServerProcess(
          ["index-server", "-s", `ssh://127.0.0.1${dirOf}`, "-l", "127.0.0.1:0"],
          [
            "--allow-net=127.0.0.1",
            "--allow-read",
            "--allow-run",
            "--allow-env=CASYNC_SSH_PATH,CASYNC_REMOTE_PATH",
          ],
          { CASYNC_SSH_PATH: sshd!.sshWrapper, CASYNC_REMOTE_PATH: remote },
        );
        try {
          const found = await fetch(`${server.url}${name}`);
          assertEquals(found.status, 200, remote);
          assertEquals(new Uint8Array(await found.arrayBuffer()), want, remote);
          const missing = await fetch(`${server.url}none.caibx`);
          assertEquals(missing.status, 404, `${remote}: ${await missing.text()}`);
        } finally {
          assertEquals((await server.stop()).code, 0);
        }
      }
      assertEquals(await sshd!.settledSessions(), []);
    }, true);
  },
});

async function waitForPort(port: number) {
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}
