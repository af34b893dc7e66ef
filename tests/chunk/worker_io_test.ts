import { assert, assertBytesEqual, assertEquals, assertMatch } from "../assert.ts";
import { closeFiles, inputFile, outputFile, readAt, writeAt } from "../../src/chunk/worker_io.ts";
import { pseudoRandom, removeDir, tempDir } from "../helpers.ts";

Deno.test("writeAt/readAt: runs, jumps back and forth and reads between writes land where asked", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir}/blob`;
    const size = 1 << 20;
    await Deno.writeFile(path, new Uint8Array(size));
    // The model the file must match: a plain array written at the same offsets.
    const model = new Uint8Array(size);
    const source = pseudoRandom(size, 11);
    const lengths = pseudoRandom(4096, 12);
    let offset = 0;
    for (let step = 0; step < 2000; step++) {
      const length = 1 + lengths[step % lengths.length] * 16;
      // Mostly consecutive writes (a lane's run), with jumps back, forward and onto the
      // same place, and reads through the same and through another handle between them.
      const kind = lengths[(step * 7) % lengths.length] % 8;
      if (kind === 0) offset = (offset * 31 + 4099) % (size - 8192);
      else if (kind === 1) offset = Math.max(0, offset - 3 * length);
      if (offset + length > size) offset = 0;
      const data = source.subarray(step % 1000, step % 1000 + length);
      writeAt(outputFile(path), data, offset);
      model.set(data, offset);
      if (kind === 2) {
        // In two consecutive reads, as a lane reads a run.
        const back = new Uint8Array(length);
        const half = length >> 1;
        assertEquals(readAt(inputFile(path), back.subarray(0, half), offset), half);
        assertEquals(readAt(inputFile(path), back.subarray(half), offset + half), length - half);
        assertBytesEqual(back, data, `read back at ${offset}`);
      }
      offset += length;
    }
    // A read past the end stops there, and the next one still reads from where it asks.
    const tail = new Uint8Array(100);
    assertEquals(readAt(inputFile(path), tail, size - 40), 40);
    const head = new Uint8Array(64);
    assertEquals(readAt(inputFile(path), head, 0), 64);
    assertBytesEqual(head, model.subarray(0, 64), "read after a short read");
    closeFiles();
    assertBytesEqual(await Deno.readFile(path), model, "file against the model");
  } finally {
    closeFiles();
    await removeDir(dir);
  }
});

Deno.test("writeAt: a file whose handle was closed and reopened is written at the offset asked", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir}/blob`;
    await Deno.writeFile(path, new Uint8Array(8));
    writeAt(outputFile(path), new Uint8Array([1, 2]), 0);
    closeFiles();
    // A new handle starts at offset 0: where the old one stood (2) must not be assumed.
    writeAt(outputFile(path), new Uint8Array([9]), 2);
    closeFiles();
    assertBytesEqual(await Deno.readFile(path), new Uint8Array([1, 2, 9, 0, 0, 0, 0, 0]));
  } finally {
    closeFiles();
    await removeDir(dir);
  }
});

Deno.test("writeAt: a failed write names the file and the offset", () => {
  let failure: unknown;
  try {
    writeAt(outputFile("/dev/full"), new Uint8Array(10), 0);
  } catch (error) {
    failure = error;
  } finally {
    closeFiles();
  }
  assert(failure instanceof Error, "writing to /dev/full fails");
  assertMatch(failure.message, /\/dev\/full.*write at offset 0/);
});
