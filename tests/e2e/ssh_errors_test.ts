/**
 * How SSH store failures reach the user, with a fake remote in place of
 * ssh+casync (CASYNC_SSH_PATH): one line naming the store and the cause.
 */
import { assertEquals, assertMatch } from "../assert.ts";
import { removeDir, REPO, runCli, tempDir } from "../helpers.ts";
import { encodeIndex, FLAG_SHA512_256 } from "../../src/format/index.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";

const FLAGS = [
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env=CASYNC_SSH_PATH,CASYNC_REMOTE_PATH",
];

for (
  const [mode, expected] of [
    ["abort", /the remote aborted: store \/nowhere does not exist/],
    ["die", /the remote ended the session \(remote said: Permission denied \(publickey\)\.\)/],
    ["wrong-chunk", /answered chunk [0-9a-f]{64}, which was not asked for/],
  ] as const
) {
  Deno.test(`ssh store: a remote that does "${mode}" fails with one clear line`, async (t) => {
    const dir = await tempDir(t);
    try {
      const wrapper = `${dir}/fake-ssh`;
      await Deno.writeTextFile(
        wrapper,
        `#!/bin/sh\nFAKE_REMOTE=${mode} exec '${Deno.execPath()}' run --quiet --allow-env ` +
          `'${REPO}tests/fixtures/fake_casync_remote.ts' "$@"\n`,
      );
      await Deno.chmod(wrapper, 0o755);
      const id = "ab".repeat(32) as ChunkId;
      await Deno.writeFile(
        `${dir}/x.caibx`,
        encodeIndex({
          featureFlags: FLAG_SHA512_256,
          chunkSizeMin: 1,
          chunkSizeAvg: 100,
          chunkSizeMax: 400,
          chunks: [{ id, start: 0, size: 100 }],
        }),
      );
      const result = await runCli(
        ["extract", "-s", "ssh://example.invalid/srv/store", `${dir}/x.caibx`, `${dir}/out`],
        FLAGS,
        { env: { CASYNC_SSH_PATH: wrapper } },
      );
      assertEquals(result.code, 1, result.stderr);
      assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
      assertMatch(result.stderr, /^desync: store ssh:\/\/example\.invalid\/srv\/store: /);
      assertMatch(result.stderr, expected);
    } finally {
      await removeDir(dir);
    }
  });
}
