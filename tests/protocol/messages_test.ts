import { assertEquals, assertRejects, assertThrows } from "../assert.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import {
  decodeAbort,
  decodeChunk,
  decodeHello,
  decodeMissing,
  decodeRequest,
  encodeAbort,
  encodeChunk,
  encodeHello,
  encodeMessage,
  encodeMissing,
  encodeRequest,
  Feature,
  MessageReader,
  MessageType,
  ProtocolError,
} from "../../src/protocol/messages.ts";

const ID = "ab".repeat(32) as ChunkId;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function le64(value: bigint): string {
  return value.toString(16).padStart(16, "0").match(/../g)!.reverse().join("");
}

Deno.test("messages are laid out as casync's caprotocol.h says", () => {
  // CaProtocolHello: header (size, type) + feature_flags.
  assertEquals(
    hex(encodeHello(Feature.PULL_CHUNKS)),
    le64(24n) + le64(0x3c71d0948ca5fbeen) + le64(0x40n),
  );
  // CaProtocolRequest: header + flags + chunk IDs.
  assertEquals(
    hex(encodeRequest([ID, ID], 1n)),
    le64(16n + 8n + 64n) + le64(0x8ab427e0f89d9210n) + le64(1n) + "ab".repeat(64),
  );
  // CaProtocolChunk: header + flags + ID + data.
  assertEquals(
    hex(encodeChunk(ID, new Uint8Array([1, 2, 3]), true)),
    le64(16n + 8n + 32n + 3n) + le64(0x5213dd180a84bc8cn) + le64(1n) + "ab".repeat(32) + "010203",
  );
  // CaProtocolMissing and CaProtocolGoodbye.
  assertEquals(hex(encodeMissing(ID)), le64(48n) + le64(0xd010f9fac82b7b6cn) + "ab".repeat(32));
  assertEquals(hex(encodeMessage(MessageType.GOODBYE)), le64(16n) + le64(0xad205dbf1a3686c3n));
});

Deno.test("messages decode back, and malformed ones are ProtocolErrors", () => {
  assertEquals(
    decodeHello(encodeHello(Feature.READABLE_STORE).subarray(16)),
    Feature.READABLE_STORE,
  );
  assertThrows(() => decodeHello(new Uint8Array(8).fill(0xff)), ProtocolError, "unknown features");
  assertEquals(decodeRequest(encodeRequest([ID]).subarray(16)), { flags: 0n, ids: [ID] });
  assertThrows(() => decodeRequest(new Uint8Array(20)), ProtocolError, "REQUEST");
  const chunk = decodeChunk(encodeChunk(ID, new Uint8Array([9]), false).subarray(16));
  assertEquals([chunk.id, chunk.compressed, Array.from(chunk.data)], [ID, false, [9]]);
  assertEquals(decodeMissing(encodeMissing(ID).subarray(16)), ID);
  assertThrows(() => decodeMissing(new Uint8Array(31)), ProtocolError, "MISSING");
  assertEquals(decodeAbort(encodeAbort("no such store", 2n).subarray(16)), {
    error: 2n,
    reason: "no such store",
  });
});

/** A stream handing out `pieceSize` bytes at a time: a byte stream (read BYOB, as pipes are) or not. */
function streamOf(
  bytes: Uint8Array,
  pieceSize: number,
  byteStream = false,
): ReadableStream<Uint8Array> {
  let at = 0;
  const pull = (controller: ReadableStreamDefaultController | ReadableByteStreamController) => {
    if (at >= bytes.length) {
      controller.close();
      // A byte stream ends a pending BYOB read this way (as Deno's pipes do).
      if ("byobRequest" in controller) controller.byobRequest?.respond(0);
      return;
    }
    controller.enqueue(bytes.slice(at, at + pieceSize));
    at += pieceSize;
  };
  return byteStream
    ? new ReadableStream({ type: "bytes", pull })
    : new ReadableStream<Uint8Array>({ pull });
}

Deno.test("MessageReader splits a byte stream into messages whatever the read sizes", async () => {
  const messages = [
    encodeHello(Feature.READABLE_STORE),
    encodeChunk(ID, new Uint8Array(70_000).fill(7), true),
    encodeMissing(ID),
  ];
  const bytes = new Uint8Array(messages.reduce((n, m) => n + m.length, 0));
  let at = 0;
  for (const message of messages) {
    bytes.set(message, at);
    at += message.length;
  }
  for (
    const [pieceSize, byteStream] of [1, 7, 16, 4096, bytes.length].flatMap((n) =>
      [[n, false], [n, true]] as const
    )
  ) {
    const reader = new MessageReader(streamOf(bytes, pieceSize, byteStream));
    const types = [];
    for (let message = await reader.next(); message; message = await reader.next()) {
      types.push(message.type);
      if (message.type === MessageType.CHUNK) assertEquals(message.body.length, 8 + 32 + 70_000);
    }
    assertEquals(types, [MessageType.HELLO, MessageType.CHUNK, MessageType.MISSING]);
  }
  for (const byteStream of [false, true]) {
    const truncated = new MessageReader(streamOf(bytes.subarray(0, 30), 8, byteStream));
    await truncated.next();
    await assertRejects(() => truncated.next(), ProtocolError, "ended inside a message");
  }
  const huge = encodeMessage(MessageType.CHUNK);
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  await assertRejects(
    () => new MessageReader(streamOf(huge, 16)).next(),
    ProtocolError,
    "out of range",
  );
});
