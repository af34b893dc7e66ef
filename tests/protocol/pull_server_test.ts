/**
 * servePull's own failure paths, driven in memory: a lookup that fails while
 * reading requests waits for room in a full queue.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import {
  decodeAbort,
  encodeHello,
  encodeRequest,
  Feature,
  MessageReader,
  MessageType,
} from "../../src/protocol/messages.ts";
import { servePull } from "../../src/protocol/pull_server.ts";

Deno.test("servePull: a failed lookup while requests wait for room ends the session with ABORT", async () => {
  // The client sends many IDs and never closes its end: requests stop being read once the
  // queue is full, and only the failure can end the session.
  const ids = Array.from({ length: 40 }, (_, i) => i.toString(16).padStart(64, "0") as ChunkId);
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encodeHello(Feature.PULL_CHUNKS));
      controller.enqueue(encodeRequest(ids, 1n));
    },
  });
  const sent: Uint8Array[] = [];
  const output = new WritableStream<Uint8Array>({ write: (bytes) => void sent.push(bytes) });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<string>((resolve) => timer = setTimeout(() => resolve("hung"), 5000));
  try {
    const served = servePull(input, output, {
      getChunk: () => Promise.reject(new Error("the disk is on fire")),
      maxQueued: 2,
    });
    const outcome = await Promise.race([served.then(() => "resolved", (e: Error) => e), hung]);
    assert(outcome instanceof Error, `servePull ${outcome}`);
    assertMatch(outcome.message, /the disk is on fire/);
  } finally {
    clearTimeout(timer);
  }
  const reader = new MessageReader(ReadableStream.from(sent));
  const types = [];
  let reason = "";
  for (let m = await reader.next(); m; m = await reader.next()) {
    types.push(m.type);
    if (m.type === MessageType.ABORT) reason = decodeAbort(m.body).reason;
  }
  assertEquals(types, [MessageType.HELLO, MessageType.ABORT]);
  assertMatch(reason, /the disk is on fire/);
});
