import { assertEquals, assertThrows } from "../assert.ts";
import { writeTreeFiles } from "../../src/chunk/tree_files.ts";
import { currentUmask, statFile } from "../../src/util/posix.ts";
import { removeDir, tempDir } from "../helpers.ts";

const encoder = new TextEncoder();

function job(dir: string, names: string[], texts: string[], mtimesMs: number[]) {
  const data = encoder.encode(texts.join(""));
  let end = 0;
  return {
    paths: names.map((name) => `${dir}/${name}`),
    modes: Uint16Array.from(names.map((_, i) => [0o644, 0o600, 0o777][i % 3])),
    mtimesMs: Float64Array.from(mtimesMs),
    ends: Float64Array.from(texts.map((text) => end += encoder.encode(text).length)),
    data,
  };
}

Deno.test("tree files: each file is made with its bytes, mode (less the umask) and time", async () => {
  const dir = await tempDir();
  try {
    const failure = writeTreeFiles(
      job(dir, ["a", "b", "c"], ["first", "", "thïrd"], [1_500_000_000_123, NaN, -2_000]),
      () => false,
    );
    assertEquals(failure, undefined);
    assertEquals(Deno.readTextFileSync(`${dir}/a`), "first");
    assertEquals(Deno.readTextFileSync(`${dir}/b`), "");
    assertEquals(Deno.readTextFileSync(`${dir}/c`), "thïrd");
    const umask = currentUmask();
    const [a, b, c] = ["a", "b", "c"].map((name) => statFile(`${dir}/${name}`));
    assertEquals([a.mode & 0o777, b.mode & 0o777, c.mode & 0o777], [
      0o644 & ~umask,
      0o600 & ~umask,
      0o777 & ~umask,
    ]);
    assertEquals(a.mtimeNs, 1_500_000_000_123_000_000n);
    assertEquals(c.mtimeNs, -2_000_000_000n);
    // NaN: no time set, so it is the time it was made (within a minute of now).
    const ageMs = Date.now() - Number(b.mtimeNs / 1_000_000n);
    assertEquals(ageMs >= -1000 && ageMs < 60_000, true, `${ageMs} ms`);
  } finally {
    await removeDir(dir);
  }
});

Deno.test("tree files: the first file that cannot be made is reported, none after it is tried", async () => {
  const dir = await tempDir();
  try {
    Deno.writeTextFileSync(`${dir}/b`, "there before");
    const failure = writeTreeFiles(
      job(dir, ["a", "b", "c"], ["1", "2", "3"], [0, 0, 0]),
      () => false,
    );
    assertEquals(failure, { index: 1, operation: "create", reason: "already exists" });
    assertEquals(Deno.readTextFileSync(`${dir}/a`), "1");
    assertEquals(Deno.readTextFileSync(`${dir}/b`), "there before");
    assertThrows(() => Deno.statSync(`${dir}/c`), Deno.errors.NotFound);
    const missing = writeTreeFiles(job(`${dir}/none`, ["x"], ["1"], [0]), () => false);
    assertEquals(missing, { index: 0, operation: "create", reason: "no such file or directory" });
  } finally {
    await removeDir(dir);
  }
});

Deno.test("tree files: a stopped job makes no more files", async () => {
  const dir = await tempDir();
  try {
    let made = 0;
    assertThrows(
      () =>
        writeTreeFiles(job(dir, ["a", "b", "c"], ["1", "2", "3"], [0, 0, 0]), () => made++ >= 1),
      Error,
      "stopped",
    );
    assertEquals(Array.from(Deno.readDirSync(dir), (entry) => entry.name), ["a"]);
  } finally {
    await removeDir(dir);
  }
});
