/// <reference lib="deno.worker" />
/** A codec worker: runs the pool's jobs (codec_jobs.ts) in order, one at a time. */
import type { CodecRequest } from "./codec_pool.ts";
import { respond } from "./codec_jobs.ts";
import { nodeCrypto } from "../util/node_builtins.ts";

// Every job hashes: load the hash (and Node's compatibility layer with it) while the main
// thread still loads and plans, not when the first job comes.
nodeCrypto();

let queue = Promise.resolve();
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
