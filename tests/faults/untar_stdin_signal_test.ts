/**
 * untar reading an archive from standard input that stalls (a pipe whose writer
 * neither writes nor closes), then SIGINT: the run ends with 130 and one line,
 * leaving neither the new target's temporary tree nor a half-written file in an
 * existing target.
 */
import { assertEquals, assertMatch } from "../assert.ts";
import { MAIN, removeDir, tempDir } from "../helpers.ts";
import { buildArchive, directory, file } from "../format/catar_builder.ts";
import { COMMAND_PERMISSIONS } from "../../scripts/permissions.ts";

function listing(dir: string): string[] {
  return Array.from(Deno.readDirSync(dir), (entry) => entry.name).sort();
}

async function until(condition: () => boolean, what: string, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Feeds `head` to `untar - target`, waits for `started`, sends SIGINT with stdin still open. */
async function interruptStalledUntar(head: Uint8Array, target: string, started: () => boolean) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...COMMAND_PERMISSIONS.untar, MAIN, "untar", "-", target],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Past the grace period the run is made to exit, so a hang cannot outlast the test.
  const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const writer = child.stdin.getWriter();
  try {
    await writer.write(head);
    await until(started, "untar to start writing");
    child.kill("SIGINT");
    const out = await child.output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    clearTimeout(killer);
    await writer.close().catch(() => {});
  }
}

// A first file whole, then a second file's first bytes: untar has made the
// first and is writing the second when its input stalls.
const archive = buildArchive(
  directory(undefined, [file("a", "first"), file("b", "x".repeat(64 * 1024))]),
);
const head = archive.subarray(0, archive.length - 32 * 1024);

Deno.test("faults: untar from a stalled stdin, SIGINT: exit 130, no temporary tree left", async (t) => {
  const dir = await tempDir(t);
  try {
    const run = await interruptStalledUntar(head, `${dir}/target`, () => listing(dir).length > 0);
    assertEquals(run.code, 130, run.stderr);
    assertMatch(run.stderr, /^desync: interrupted[^\n]*\n$/);
    assertEquals(listing(dir), [], "the new target's temporary tree is removed");
  } finally {
    await removeDir(dir);
  }
});

Deno.test("faults: untar into an existing directory from a stalled stdin, SIGINT: no half-written file", async (t) => {
  const dir = await tempDir(t);
  try {
    const target = `${dir}/target`;
    await Deno.mkdir(target);
    const run = await interruptStalledUntar(head, target, () => listing(target).length >= 2);
    assertEquals(run.code, 130, run.stderr);
    assertMatch(run.stderr, /^desync: interrupted[^\n]*\n$/);
    assertEquals(
      listing(target),
      ["a"],
      "the complete file stays; the partial one's temporary goes",
    );
  } finally {
    await removeDir(dir);
  }
});
