/**
 * Builds the standalone `desync` executable with `deno compile`, using the
 * permission flags from scripts/permissions.ts. `deno compile` needs the
 * `denort` runtime for the target: it downloads it unless DENORT_BIN names a
 * local copy (set that where the download is not reachable).
 *
 *   deno task build [--ffi] [--target x86_64-unknown-linux-gnu ...] [--out dist]
 *
 * `--ffi` builds the variant `desync-ffi` instead, compiled with --allow-ffi as
 * well, whose tar and untar call the C library for casync-exact archives.
 * Without it the binary cannot call native code at all.
 */
import { BINARY_FFI_PERMISSIONS, BINARY_PERMISSIONS, RUNTIME_FLAGS } from "./permissions.ts";

const args = [...Deno.args];
const targets: string[] = [];
let outDir = "dist";
let ffi = false;
while (args.length) {
  const flag = args.shift()!;
  if (flag === "--target") targets.push(args.shift()!);
  else if (flag === "--out") outDir = args.shift()!;
  else if (flag === "--ffi") ffi = true;
  else {
    console.error(`build: unknown option ${flag}`);
    Deno.exit(2);
  }
}
if (targets.length === 0) targets.push(""); // the host

const root = new URL("../", import.meta.url).pathname;
const { version } = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
await Deno.mkdir(`${root}${outDir}`, { recursive: true });
const variant = ffi ? "desync-ffi" : "desync";
for (const target of targets) {
  const name = target ? `${variant}-${target}` : variant;
  const command = [
    "compile",
    ...(ffi ? BINARY_FFI_PERMISSIONS : BINARY_PERMISSIONS),
    ...RUNTIME_FLAGS,
    // The codec worker is loaded by URL at run time, so it must be embedded explicitly.
    "--include",
    `${root}src/chunk/codec_worker.ts`,
    ...(target ? ["--target", target] : []),
    "--output",
    `${root}${outDir}/${name}`,
    `${root}src/main.ts`,
  ];
  console.error(`deno ${command.join(" ")}`);
  const { code } = await new Deno.Command(Deno.execPath(), { args: command }).spawn().status;
  if (code !== 0) {
    console.error(
      `build: deno compile failed for ${target || "the host"}` +
        (Deno.env.get("DENORT_BIN") ? "" : " (offline? set DENORT_BIN to a local denort binary)"),
    );
    Deno.exit(1);
  }
  if (!target) {
    // A runtime that is not denort (e.g. the full deno CLI as DENORT_BIN) builds a binary that ignores the program.
    const output = `${root}${outDir}/${name}`;
    const said = await new Deno.Command(output, {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    }).output().then(
      (check) => new TextDecoder().decode(check.stdout).trim(),
      (error) => `(could not run: ${error.message})`,
    );
    if (said !== version) {
      // A binary that is not desync must not be left where it would be taken for one.
      await Deno.remove(output).catch(() => {});
      console.error(
        `build: ${output} --version said "${
          said.split("\n")[0]
        }", want "${version}": is DENORT_BIN a denort binary? (removed it)`,
      );
      Deno.exit(1);
    }
    console.error(`build: ${output} (desync ${version})`);
  }
}
