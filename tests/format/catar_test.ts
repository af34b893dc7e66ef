import { assert, assertBytesEqual, assertEquals, assertThrows } from "../assert.ts";
import { ArchiveFormatError } from "../../src/errors.ts";
import {
  archivedMode,
  archiveFeatureFlags,
  CA_FORMAT_FILENAME,
  CA_FORMAT_PAYLOAD,
  encodeStringRecord,
  goodbyeHash,
  S_IFCHR,
  S_IFIFO,
  S_IFLNK,
  S_IFSOCK,
  searchTreeOrder,
  WITH_PERMISSIONS,
  WITH_READ_ONLY,
  WITH_SYMLINKS,
  WITH_XATTRS,
} from "../../src/format/catar.ts";
import { type ArchiveEvent, CatarDecoder } from "../../src/format/catar_decoder.ts";
import { siphash24 } from "../../src/format/siphash.ts";
import { pseudoRandom } from "../helpers.ts";
import { buildArchive, directory, file, TEST_FLAGS, type TestNode } from "./catar_builder.ts";

function le64(value: bigint | number): string {
  return BigInt(value).toString(16).padStart(16, "0").match(/../g)!.reverse().join("");
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("catar: a one-file archive is laid out as casync's caformat.h says", () => {
  const flags = 0x2000000000000322n; // sha512-256, symlinks, permissions, 32-bit uids
  const mtime = 1_500_000_000_000_000_001n;
  const archive = buildArchive(
    { ...directory(undefined, [{ ...file("a", "hi"), mtimeNs: mtime }]), mtimeNs: mtime },
    { flags },
  );
  // The goodbye key of caformat.h, written out here, not taken from the code.
  const key = new Uint8Array([
    0xb3,
    0x84,
    0x1d,
    0x0f,
    0x2b,
    0x44,
    0x74,
    0x85,
    0xc1,
    0x2e,
    0xc2,
    0xd1,
    0x30,
    0xed,
    0x36,
    0x27,
  ]);
  const hashA = siphash24(new Uint8Array([0x61]), key);
  const entry = (mode: number) =>
    le64(64) + le64(0x1396fabcea5bbb51n) + le64(flags) + le64(mode) + le64(0) + le64(0) +
    le64(0) + le64(mtime);
  const expected = [
    entry(0o40755), // offset 0: the root directory's ENTRY
    le64(18) + le64(0x6dbb6ebcb3161f0bn) + "6100", // 64: FILENAME "a"
    entry(0o100644), // 82: the file's ENTRY
    le64(18) + le64(0x8b9e1d93d6dcffc9n) + "6869", // 146: PAYLOAD "hi"
    // 164: GOODBYE with one item (back 100 bytes to the FILENAME, 100 bytes long)
    // and the tail (back 164 bytes to the ENTRY, record size 64, marker).
    le64(64) + le64(0xdfd35c5e8327c403n) + le64(100) + le64(100) + le64(hashA) +
    le64(164) + le64(64) + le64(0x57446fa533702943n),
  ].join("");
  assertEquals(hex(archive), expected);
  assertEquals(goodbyeHash(new Uint8Array([0x61])), hashA);
  assertEquals(archiveFeatureFlags(archive), flags);
  assertEquals(archiveFeatureFlags(archive.subarray(64)), undefined);
});

Deno.test("catar: goodbye items form a complete binary search tree in array form", () => {
  for (let n = 0; n <= 300; n++) {
    const order = searchTreeOrder(n);
    assertEquals([...order].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    // Every slot is greater than all of its left subtree and less than all of its right.
    const bounds = (slot: number, low: number, high: number) => {
      if (slot >= n) return;
      assert(order[slot] > low && order[slot] < high, `n=${n} slot ${slot}`);
      bounds(2 * slot + 1, low, order[slot]);
      bounds(2 * slot + 2, order[slot], high);
    };
    bounds(0, -1, n);
  }
});

Deno.test("catar: modes are kept as casync keeps them", () => {
  assertEquals(archivedMode(0o104755, WITH_PERMISSIONS), 0o104755);
  assertEquals(archivedMode(0o100600, 0n), 0o100666);
  assertEquals(archivedMode(0o100444, WITH_READ_ONLY), 0o100444);
  assertEquals(archivedMode(0o40555, WITH_READ_ONLY), 0o40555);
  assertEquals(archivedMode(S_IFLNK | 0o755, WITH_PERMISSIONS), S_IFLNK | 0o777);
});

const SAMPLE: TestNode = {
  ...directory(undefined, [
    file("a", pseudoRandom(70_000, 3)),
    { ...file("b", ""), uid: 1, gid: 2, user: "daemon", group: "bin" },
    directory("c", [
      { name: "d", mode: S_IFLNK | 0o777, target: "../a" },
      { name: "e", mode: S_IFIFO | 0o600 },
      directory("f", []),
      { name: "n", mode: S_IFCHR | 0o600, major: 1, minor: 3 },
      { name: "s", mode: S_IFSOCK | 0o755 },
    ]),
    file("ü", "x"),
  ]),
};

/** The events of an archive as plain data, payloads joined. */
function summarize(events: ArchiveEvent[]) {
  const out: unknown[] = [];
  for (const event of events) {
    if (event.type === "data") {
      const last = out.at(-1) as { data?: number[] };
      if (last && "data" in last) last.data!.push(...event.bytes);
      else out.push({ data: [...event.bytes] });
    } else {
      const { node } = event;
      out.push({
        type: event.type,
        path: node.path,
        kind: node.kind,
        mode: node.entry.mode,
        user: node.user,
        size: node.size,
        target: node.target && [...node.target],
        device: node.major === undefined ? undefined : `${node.major}:${node.minor}`,
      });
    }
  }
  return out;
}

function decodeInPieces(archive: Uint8Array, piece: number): ArchiveEvent[] {
  const decoder = new CatarDecoder("test.catar");
  const events: ArchiveEvent[] = [];
  for (let i = 0; i < archive.length; i += piece) {
    // Copies, so that payload views stay valid after the next piece.
    events.push(...decoder.push(archive.slice(i, i + piece)));
  }
  decoder.end();
  return events;
}

Deno.test("catar: the decoder yields the same tree however the input is split", () => {
  const archive = buildArchive(SAMPLE);
  const whole = summarize(decodeInPieces(archive, archive.length));
  const paths = whole.filter((e) => (e as { type?: string }).type === "node").map((e) =>
    (e as { path: string }).path
  );
  assertEquals(paths, [".", "a", "b", "c", "c/d", "c/e", "c/f", "c/n", "c/s", "ü"]);
  const a = whole[2] as { data: number[] };
  assertBytesEqual(new Uint8Array(a.data), pseudoRandom(70_000, 3));
  for (const piece of [1, 7, 16, 63, 4096]) {
    assertEquals(summarize(decodeInPieces(archive, piece)), whole, `pieces of ${piece}`);
  }
});

/** Decoding `archive` fails with a message containing `includes`. */
function refuses(archive: Uint8Array, includes: string) {
  for (const piece of [archive.length, 5]) {
    const error = assertThrows(() => decodeInPieces(archive, piece), ArchiveFormatError);
    assert(
      error.message.includes(includes),
      `"${error.message}" lacks "${includes}" (pieces of ${piece})`,
    );
    assert(error.message.startsWith("test.catar: invalid archive: "), error.message);
  }
}

Deno.test("catar: names that are not one path component are refused", () => {
  for (const name of ["..", ".", "a/b", "/etc"]) {
    refuses(buildArchive(directory(undefined, [file(name, "x")])), JSON.stringify(name));
  }
  refuses(
    buildArchive(directory(undefined, [file("", "x")])),
    "FILENAME record at byte 64 has size 17",
  );
});

Deno.test("catar: repeated or unsorted names are refused (no entry reached through another)", () => {
  const link = { name: "a", mode: S_IFLNK | 0o777, target: "/tmp" };
  refuses(
    buildArchive(directory(undefined, [link, directory("a", [file("x", "evil")])])),
    "appears twice",
  );
  refuses(buildArchive(directory(undefined, [file("b", ""), file("a", "")])), "out of order");
});

Deno.test("catar: goodbye tables must match the directory's entries", () => {
  const tree = directory(undefined, [file("a", "1"), file("b", "2")]);
  // Truncated: one item missing.
  refuses(
    buildArchive(tree, {
      goodbye: (g) => {
        const cut = new Uint8Array(g.length - 24);
        cut.set(g.subarray(0, 16));
        cut.set(g.subarray(40), 16);
        new DataView(cut.buffer).setBigUint64(0, BigInt(cut.length), true);
        return cut;
      },
    }),
    "goodbye table of 64 bytes, but 2 entries need 88",
  );
  // A wrong hash, a wrong size, a wrong tail.
  const corrupt = (at: number) => (g: Uint8Array) => {
    const copy = g.slice();
    copy[at] ^= 1;
    return copy;
  };
  refuses(buildArchive(tree, { goodbye: corrupt(16 + 16) }), "does not match");
  refuses(buildArchive(tree, { goodbye: corrupt(16 + 8) }), "goodbye table");
  refuses(buildArchive(tree, { goodbye: corrupt(16 + 48) }), "wrong entry");
  refuses(buildArchive(tree, { goodbye: corrupt(16 + 48 + 16) }), "tail marker");
});

Deno.test("catar: truncated archives, trailing data and wrong sizes are refused", () => {
  const archive = buildArchive(SAMPLE);
  for (const cut of [1, 17, 64, 100, archive.length - 1]) {
    refuses(archive.subarray(0, cut), "truncated");
  }
  const trailing = new Uint8Array(archive.length + 3);
  trailing.set(archive);
  refuses(trailing, "after the end");
  // A payload claiming more bytes than the file has swallows what follows.
  const small = buildArchive(directory(undefined, [file("a", "hi"), file("b", "there")]));
  const grown = small.slice();
  new DataView(grown.buffer).setBigUint64(146, 16n + 40n, true);
  assertEquals(new DataView(grown.buffer).getBigUint64(154, true), CA_FORMAT_PAYLOAD);
  refuses(grown, "");
  // An entry record of the wrong size.
  const entry = small.slice();
  new DataView(entry.buffer).setBigUint64(0, 65n, true);
  refuses(entry, "ENTRY record at byte 0 has size 65");
});

Deno.test("catar: impossible sizes are refused before anything is buffered", () => {
  const archive = buildArchive(directory(undefined, [file("a", "x")]));
  const huge = archive.slice(0, 64 + 16);
  new DataView(huge.buffer).setBigUint64(64, 0xffffffffffffn, true);
  assertEquals(new DataView(huge.buffer).getBigUint64(72, true), CA_FORMAT_FILENAME);
  const decoder = new CatarDecoder("test.catar");
  const error = assertThrows(() => decoder.push(huge), ArchiveFormatError);
  assert(error.message.includes("FILENAME record at byte 64 has size"), error.message);
});

Deno.test("catar: the root must be a directory and types need their feature flags", () => {
  refuses(buildArchive(file("x", "y")), "root is not a directory");
  const link = { name: "l", mode: S_IFLNK | 0o777, target: "x" };
  refuses(
    buildArchive(directory(undefined, [link]), { flags: TEST_FLAGS & ~WITH_SYMLINKS }),
    "feature flags exclude",
  );
});

Deno.test("catar: records in the wrong place are refused", () => {
  // A FILENAME where a file's payload should be.
  const bad = buildArchive(directory(undefined, [{ name: "a", mode: 0o100644 }]));
  refuses(bad, "expected metadata or PAYLOAD");
  // A stray record type.
  const stray = buildArchive(directory(undefined, [file("a", "")])).slice();
  const filename = encodeStringRecord(CA_FORMAT_FILENAME, new Uint8Array([0x61]));
  new DataView(filename.buffer).setBigUint64(8, 0x1234n, true);
  stray.set(filename, 64);
  refuses(stray, "0x1234");
});

Deno.test("catar: attributes are decoded in order and refused where casync refuses them", () => {
  const value = new Uint8Array([0, 1, 0]);
  const tree = directory(undefined, [{
    ...file("f", "x"),
    xattrs: [["user.a", value], ["user.b", new Uint8Array()]],
    fcaps: new Uint8Array([1, 0, 0, 2]),
  }]);
  const events = decodeInPieces(buildArchive(tree), 3);
  const node = events.find((e) => e.type === "node" && e.node.path === "f")!;
  assert(node.type === "node");
  assertEquals(node.node.xattrs.map((x) => [new TextDecoder().decode(x.name), [...x.value]]), [
    ["user.a", [0, 1, 0]],
    ["user.b", []],
  ]);
  assertEquals([...node.node.fcaps!], [1, 0, 0, 2]);
  const xattr = (name: string): [string, Uint8Array] => [name, value];
  refuses(
    buildArchive(
      directory(undefined, [{ ...file("f", ""), xattrs: [xattr("user.b"), xattr("user.a")] }]),
    ),
    "out of order",
  );
  refuses(
    buildArchive(directory(undefined, [{ ...file("f", ""), xattrs: [xattr("nodot")] }])),
    "malformed",
  );
  refuses(
    buildArchive(directory(undefined, [{ ...file("f", ""), xattrs: [xattr("user.a")] }]), {
      flags: TEST_FLAGS & ~WITH_XATTRS,
    }),
    "not allowed",
  );
  const link = { name: "l", mode: S_IFLNK | 0o777, target: "x", xattrs: [xattr("user.a")] };
  refuses(buildArchive(directory(undefined, [link])), "symlink cannot have");
  refuses(
    buildArchive(directory(undefined, [{ ...directory("d", []), fcaps: new Uint8Array(4) }])),
    "not a file",
  );
});
