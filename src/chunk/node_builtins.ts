/**
 * Node modules the codec lanes load on first use, not at start-up: each costs
 * milliseconds in every isolate, and many runs never need them (chunks of
 * incompressible data need no zlib; only writing chunk files needs fs).
 */
import process from "node:process";

type Zlib = typeof import("node:zlib");
type Fs = typeof import("node:fs");

let zlibModule: Zlib | undefined;
let fsModule: Fs | undefined;

export function zlib(): Zlib {
  return zlibModule ??= process.getBuiltinModule("node:zlib") as Zlib;
}

export function nodeFs(): Fs {
  return fsModule ??= process.getBuiltinModule("node:fs") as Fs;
}
