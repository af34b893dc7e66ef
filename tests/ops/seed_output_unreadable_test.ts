/**
 * The existing output is a seed nobody asked for: one this user may replace
 * (the directory is writable) but not read is no seed, not a failure. Run as an
 * unprivileged user, since root reads any file whatever its mode.
 */
import { assertEquals } from "../assert.ts";
import { missingTools, removeDir, REPO, runTool, tempDir } from "../helpers.ts";

const root = Deno.uid() === 0;

/** Whether an unprivileged user can reach the sources (every directory above them searchable). */
function othersReachRepo(): boolean {
  let path = `${REPO}src/ops`;
  while (path.length > 1) {
    if (((Deno.statSync(path).mode ?? 0) & 0o005) !== 0o005) return false;
    path = path.replace(/\/[^/]*\/?$/, "") || "/";
  }
  return true;
}

Deno.test({
  name: "seeds: an existing output this user cannot read is not used as a seed",
  ignore: root && (Boolean(missingTools("setpriv")) || !othersReachRepo()),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      await Deno.chmod(dir, 0o777);
      await Deno.writeFile(`${dir}/out`, new Uint8Array(100).fill(7), { mode: 0o600 });
      await Deno.writeFile(`${dir}/seed`, new Uint8Array(100).fill(7), { mode: 0o644 });
      // Owned by someone else (root) when run as root, else made unreadable to its owner.
      if (!root) await Deno.chmod(`${dir}/out`, 0o200);
      const script = `${dir}/resolve.ts`;
      await Deno.writeTextFile(
        script,
        `import { resolveSeeds } from ${JSON.stringify(`${REPO}src/ops/seeds.ts`)};
const dir = Deno.args[0];
const seeds = await resolveSeeds({
  seeds: [dir + "/seed"],
  seedDirs: [],
  target: { featureFlags: 0, chunkSizeMin: 1, chunkSizeAvg: 4, chunkSizeMax: 16, chunks: [] },
  output: dir + "/out",
  seedOutput: true,
  readIndex: () => { throw new Error("no index is read"); },
});
console.log(JSON.stringify(seeds.map((seed) => seed.kind)));
`,
        { mode: 0o644 },
      );
      const deno = [
        Deno.execPath(),
        "run",
        "--quiet",
        "--no-config",
        "--no-lock",
        "--allow-read",
        script,
        dir,
      ];
      const env = { DENO_DIR: `${dir}/deno`, HOME: dir };
      const result = root
        ? await runTool("setpriv", [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          ...deno,
        ], { env })
        : await runTool(deno[0], deno.slice(1), { env });
      assertEquals(result.code, 0, result.stderr);
      assertEquals(JSON.parse(result.stdout), ["file"]);
    } finally {
      await removeDir(dir);
    }
  },
});
