/**
 * Node modules loaded on first use, not at start-up. The first of them starts
 * Deno's Node compatibility layer: 10–15 ms of CPU in every isolate (the main
 * thread's, each worker's), spent before any work can begin if it is imported
 * statically. Many runs never need some of them (chunks of incompressible data
 * need no zlib; only writing chunk files needs fs; only TLS files need X509),
 * and the main thread of an extract needs none until its plan is handed out.
 */
type NodeProcess = typeof import("node:process");
type Zlib = typeof import("node:zlib");
type Fs = typeof import("node:fs");
type Crypto = typeof import("node:crypto");

let zlibModule: Zlib | undefined;
let fsModule: Fs | undefined;
let cryptoModule: Crypto | undefined;

/** Node's `process`: Deno makes the global on first access (which starts the layer). */
function nodeProcess(): NodeProcess {
  return (globalThis as unknown as { process: NodeProcess }).process;
}

export function zlib(): Zlib {
  return zlibModule ??= nodeProcess().getBuiltinModule("node:zlib") as Zlib;
}

export function nodeFs(): Fs {
  return fsModule ??= nodeProcess().getBuiltinModule("node:fs") as Fs;
}

export function nodeCrypto(): Crypto {
  return cryptoModule ??= nodeProcess().getBuiltinModule("node:crypto") as Crypto;
}
