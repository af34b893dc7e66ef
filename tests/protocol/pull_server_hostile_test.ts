/**
 * servePull against clients that push the protocol's limits, driven in memory:
 * the largest REQUEST a message can carry, and an ABORT whose reason carries
 * control characters.
 */
import { assert, assertEquals } from "../assert.ts";
import { CHUNK_ID_SIZE } from "../../src/format/chunk_id.ts";
import {
  encodeAbort,
  encodeHello,
  encodeMessage,
  Feature,
  HEADER_SIZE,
  MESSAGE_SIZE_MAX,
  MessageReader,
  MessageType,
} from "../../src/protocol/messages.ts";
import { ClientAborted, servePull } from "../../src/protocol/pull_server.ts";

/** Runs one session on `messages`; returns the types of the messages sent back, and the outcome. */
async function session(messages: Uint8Array[]) {
  const input = ReadableStream.from(messages);
  const sent: Uint8Array[] = [];
  const output = new WritableStream<Uint8Array>({ write: (bytes) => void sent.push(bytes) });
  const outcome = await servePull(input, output, {
    getChunk: () => Promise.resolve(undefined),
  }).then(() => undefined, (error: Error) => error);
  const counts = new Map<bigint, number>();
  const reader = new MessageReader(ReadableStream.from(sent));
  for (let m = await reader.next(); m; m = await reader.next()) {
    counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
  }
  return { counts, outcome };
}

Deno.test("servePull: a REQUEST of a whole message's worth of IDs is answered ID by ID", async () => {
  // 16 MiB of IDs: half a million, more than a function call takes as arguments.
  const count = Math.floor((MESSAGE_SIZE_MAX - HEADER_SIZE - 8) / CHUNK_ID_SIZE);
  const body = new Uint8Array(8 + count * CHUNK_ID_SIZE);
  const view = new DataView(body.buffer);
  for (let i = 0; i < count; i++) view.setUint32(8 + i * CHUNK_ID_SIZE, i);
  const { counts, outcome } = await session([
    encodeHello(Feature.PULL_CHUNKS),
    encodeMessage(MessageType.REQUEST, body),
    encodeMessage(MessageType.GOODBYE),
  ]);
  assertEquals(outcome, undefined);
  assertEquals(counts.get(MessageType.MISSING), count);
});

Deno.test("servePull: a client's ABORT reason is shown with its control characters escaped", async () => {
  const { counts, outcome } = await session([
    encodeHello(Feature.PULL_CHUNKS),
    encodeAbort("bye\ndesync: forged line\x1b[31m\x9b", 5n),
  ]);
  assert(outcome instanceof ClientAborted, `outcome: ${outcome}`);
  assertEquals(outcome.message, "the client aborted: bye\\x0Adesync: forged line\\x1B[31m\\x9B");
  assertEquals(counts.get(MessageType.ABORT), undefined, "no ABORT is sent back to an ABORT");
});
