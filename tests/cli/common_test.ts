/** Option parsers: -m/--chunk-size in KiB or with units, comma-split lists, Go's boolean forms. */
import { assertEquals, assertThrows } from "../assert.ts";
import { Command } from "../../src/cli/args/mod.ts";
import { collect, parseByteCount, parseChunkSizes } from "../../src/cli/common.ts";
import { normalizeBoolFlags } from "../../src/cli/go_args.ts";
import { UsageError } from "../../src/errors.ts";

Deno.test("cli: -m takes KiB like Go desync, and units like casync", () => {
  const sizes = (value: string) => {
    const { min, avg, max } = parseChunkSizes(value);
    return [min, avg, max];
  };
  assertEquals(sizes("16:64:256"), [16384, 65536, 262144]);
  assertEquals(sizes("16K:64K:256K"), [16384, 65536, 262144]);
  assertEquals(sizes("16KiB:64kb:256k"), [16384, 65536, 262144]);
  assertEquals(sizes("1000B:4000B:16000B"), [1000, 4000, 16000]);
  assertEquals(sizes("48B:48B:48B"), [48, 48, 48]);
  // casync takes a minimum under its 48-byte window, and fixed sizes under it.
  assertEquals(sizes("47B:64B:256B"), [47, 64, 256]);
  assertEquals(sizes("1B:1B:1B"), [1, 1, 1]);
  // A single average, as casync takes it: a quarter and four times.
  assertEquals(sizes("64"), [16384, 65536, 262144]);
  assertEquals(sizes("1M"), [262144, 1048576, 4194304]);
  assertEquals(sizes("128M"), [33554432, 134217728, 134217728]);
});

Deno.test("cli: -m refuses what casync or Go desync refuse, naming the rule", () => {
  for (
    const [value, why] of [
      ["2B:4B:8B", /maximum under 48 bytes needs fixed-size chunks/],
      ["0B:4B:8B", /minimum must be at least 1 byte/],
      ["1G", /average is over 134217728 bytes/],
      ["64:16:256", /minimum is larger than the average/],
      ["16:64:32", /average is larger than the maximum/],
      ["1K:64K:129M", /maximum is over 134217728 bytes/],
      ["16:64", /MIN:AVG:MAX or AVG/],
      ["sixteen", /MIN:AVG:MAX in KiB/],
      ["16:64:256x", /MIN:AVG:MAX in KiB/],
      ["-16:64:256", /MIN:AVG:MAX in KiB/],
      ["16.5:64:256", /MIN:AVG:MAX in KiB/],
    ] as const
  ) {
    const error = assertThrows(() => parseChunkSizes(value), UsageError);
    assertEquals(why.test(error.message), true, `${value}: ${error.message}`);
  }
});

Deno.test("cli: repeatable options split at commas, as Go desync's do", () => {
  assertEquals(collect("a,b", collect("x")), ["x", "a", "b"]);
  assertEquals(collect("/srv/store"), ["/srv/store"]);
  assertEquals(collect("a,,b,"), ["a", "b"]);
});

Deno.test("cli: byte counts are whole and not negative", () => {
  assertEquals(parseByteCount("-o")("4096"), 4096);
  for (const bad of ["-1", "1.5", "", "1e3x"]) {
    assertThrows(() => parseByteCount("-o")(bad), UsageError);
  }
});

Deno.test("cli: Go's --flag=true/false forms become what the parser takes", () => {
  const program = new Command("desync");
  program.command("extract")
    .option("--print-stats")
    .option("-r, --cache-repair")
    .option("--no-cache-repair")
    .option("-s, --store <location>");
  const normal = (...args: string[]) => normalizeBoolFlags(args, program);
  assertEquals(normal("extract", "--cache-repair=false"), ["extract", "--no-cache-repair"]);
  assertEquals(normal("extract", "--cache-repair=true"), ["extract", "--cache-repair"]);
  assertEquals(normal("extract", "--print-stats=1", "--print-stats=F"), [
    "extract",
    "--print-stats",
  ]);
  // Options with values, unknown values and anything after -- stay as typed.
  assertEquals(normal("extract", "--store=false"), ["extract", "--store=false"]);
  assertEquals(normal("extract", "--print-stats=maybe"), ["extract", "--print-stats=maybe"]);
  assertEquals(normal("extract", "--", "--print-stats=true"), [
    "extract",
    "--",
    "--print-stats=true",
  ]);
});
