/// <reference lib="deno.worker" />
/** A codec worker: runs the pool's jobs (codec_jobs.ts) in order, one at a time. */
import type { CodecRequest } from "./codec_pool.ts";
import { respond } from "./codec_jobs.ts";

// Every job hashes. A first hash, before any job comes, loads the hash (and Node's
// compatibility layer with it) and compiles the jobs' code while the main thread still
// loads and plans: its first job (the zero-chunk IDs) is waited for.
let queue: Promise<unknown> = respond({
  seq: 0,
  op: "hash",
  data: new Uint8Array(0),
  digest: "sha512-256",
});
self.onmessage = (event: MessageEvent<CodecRequest>) => {
  queue = queue.then(async () => {
    const { reply, transfer } = await respond(event.data);
    try {
      self.postMessage(reply, transfer);
    } catch (error) {
      const message = `cannot send the reply: ${(error as Error).message}`;
      self.postMessage({ seq: reply.seq, ok: false, kind: "other", message });
    }
  });
};
