/**
 * The main job, start to finish, on data made on the spot: a 64 MiB blob with
 * repeated regions is chunked into a store with `desync make`, then rebuilt
 * with `desync extract` using the documented permission flags, and checked.
 *
 *   deno task demo            (or: npx -y deno@2.9.6 task demo)
 */
import { createHash } from "node:crypto";
import { COMMAND_PERMISSIONS } from "./permissions.ts";
import { xorshiftBytes } from "./pseudo_random.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const SIZE = 64 << 20;

function demoBlob(): Uint8Array {
  const data = xorshiftBytes(SIZE, 0x2545f491);
  // Some repetition and a hole, as real images have: dedup and zero-chunk paths get used.
  data.copyWithin(40 << 20, 8 << 20, 16 << 20);
  data.fill(0, 20 << 20, 24 << 20);
  return data;
}

async function desync(command: string, args: string[]) {
  const started = performance.now();
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...COMMAND_PERMISSIONS[command], MAIN, command, ...args],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`desync ${command} failed with exit code ${code}`);
  return (performance.now() - started) / 1000;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

const dir = await Deno.makeTempDir({ prefix: "desync-demo-" });
try {
  const blob = demoBlob();
  await Deno.writeFile(`${dir}/image.img`, blob);
  console.log(`demo: ${SIZE >> 20} MiB blob in ${dir}`);
  const makeSeconds = await desync("make", [
    "--print-stats",
    "-s",
    `${dir}/store`,
    `${dir}/image.caibx`,
    `${dir}/image.img`,
  ]);
  console.log(`demo: make took ${makeSeconds.toFixed(2)} s`);
  const extractSeconds = await desync("extract", [
    "-s",
    `${dir}/store`,
    `${dir}/image.caibx`,
    `${dir}/restored.img`,
  ]);
  const same = sha256(await Deno.readFile(`${dir}/restored.img`)) === sha256(blob);
  console.log(`demo: extract took ${extractSeconds.toFixed(2)} s; output identical: ${same}`);
  if (!same) Deno.exit(1);
} finally {
  await Deno.remove(dir, { recursive: true });
}
