/** One chunk-server thread (see threads.ts). */
import { parentPort } from "node:worker_threads";
import { DesyncError } from "../errors.ts";
import { type ChunkServer, startChunkServer } from "./chunk_server.ts";
import { type LazyCodecPool, lazyCodecPool } from "./lazy_codec.ts";
import { storeContextOf, type ThreadMessage, type ThreadReply } from "./threads.ts";

let server: ChunkServer | undefined;
let codec: LazyCodecPool | undefined;
const port = parentPort!;
const reply = (message: ThreadReply) => port.postMessage(message);

port.on("message", async (message: ThreadMessage) => {
  if (message.kind === "start") {
    try {
      codec = lazyCodecPool(1);
      server = await startChunkServer(message.options, {
        ...storeContextOf(message.context),
        codec: codec.codec,
      });
      reply({ kind: "ready", urls: server.urls });
    } catch (error) {
      codec?.close();
      reply({
        kind: "failed",
        message: error instanceof Error ? error.message : String(error),
        exitCode: error instanceof DesyncError ? error.exitCode : 1,
        notCapable: error instanceof Deno.errors.NotCapable,
      });
    }
  } else {
    await server?.close().catch(() => {});
    codec?.close();
    reply({ kind: "stopped" });
  }
});
