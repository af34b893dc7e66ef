/**
 * node:zlib, loaded on first use. Loading it costs a few milliseconds of
 * start-up in every isolate, and chunks of incompressible data (raw zstd
 * blocks) never need it.
 */
import process from "node:process";

type Zlib = typeof import("node:zlib");

let loaded: Zlib | undefined;

export function zlib(): Zlib {
  return loaded ??= process.getBuiltinModule("node:zlib") as Zlib;
}
