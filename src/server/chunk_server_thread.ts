/// <reference lib="deno.worker" />
/** One extra chunk-server thread (see threads.ts). */
import { CodecPool } from "../chunk/codec_pool.ts";
import { type ChunkServer, startChunkServer } from "./chunk_server.ts";
import { storeContextOf, type ThreadMessage, type ThreadReply } from "./threads.ts";

let server: ChunkServer | undefined;
let codec: CodecPool | undefined;
const reply = (message: ThreadReply) => self.postMessage(message);

self.onmessage = async (event: MessageEvent<ThreadMessage>) => {
  const message = event.data;
  if (message.kind === "start") {
    try {
      codec = new CodecPool(1);
      server = await startChunkServer(message.options, {
        ...storeContextOf(message.context),
        codec,
      });
      reply({ kind: "ready" });
    } catch (error) {
      codec?.close();
      reply({ kind: "failed", message: error instanceof Error ? error.message : String(error) });
    }
  } else {
    await server?.close().catch(() => {});
    codec?.close();
    reply({ kind: "stopped" });
  }
};
