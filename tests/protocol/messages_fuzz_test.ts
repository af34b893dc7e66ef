/**
 * Property tests (fast-check) for casync's protocol decoder: any split of a
 * stream of valid messages reads back the same messages; arbitrary bytes,
 * truncations and bit flips yield messages or a ProtocolError, and always end;
 * a size field past the maximum is refused before anything is buffered for it.
 */
import fc from "fast-check";
import { assert, assertEquals } from "../assert.ts";
import {
  decodeAbort,
  decodeChunk,
  decodeHello,
  decodeMissing,
  decodeRequest,
  encodeMessage,
  HEADER_SIZE,
  type Message,
  MESSAGE_SIZE_MAX,
  MessageReader,
  MessageType,
  ProtocolError,
} from "../../src/protocol/messages.ts";

const RUNS = { numRuns: 300 };

/** A stream of `bytes` cut at `cuts`; counts what the reader pulled. */
function streamOf(bytes: Uint8Array, cuts: number[]) {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  points.push(bytes.length);
  let at = 0;
  let next = 0;
  const stats = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      while (next < points.length && points[next] <= at) next++;
      if (at >= bytes.length) return controller.close();
      const end = points[next] ?? bytes.length;
      stats.pulled = end;
      controller.enqueue(bytes.slice(at, end));
      at = end;
    },
  }, { highWaterMark: 0 }); // pull only what the reader asks for
  return { stream, stats };
}

/** Reads every message; a ProtocolError ends the stream as the only other outcome. */
async function readAll(stream: ReadableStream<Uint8Array>): Promise<Message[] | ProtocolError> {
  const reader = new MessageReader(stream);
  const messages: Message[] = [];
  try {
    for (let message = await reader.next(); message; message = await reader.next()) {
      messages.push(message);
    }
    return messages;
  } catch (error) {
    assert(error instanceof ProtocolError, `not a ProtocolError: ${error}`);
    return error;
  }
}

const TYPES = Object.values(MessageType);
const messages = fc.array(
  fc.record({
    type: fc.oneof(fc.constantFrom(...TYPES), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
    body: fc.uint8Array({ maxLength: 300 }),
  }),
  { maxLength: 8 },
);

function concat(parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

const cuts = fc.array(fc.nat(), { maxLength: 12 });

Deno.test("fuzz: valid messages read back the same, however the stream is split", async () => {
  await fc.assert(
    fc.asyncProperty(messages, cuts, async (list, splits) => {
      const bytes = concat(list.map((m) => encodeMessage(m.type, m.body)));
      const read = await readAll(streamOf(bytes, splits).stream);
      assert(!(read instanceof ProtocolError), `${read}`);
      assertEquals(
        read.map((m) => [m.type, Array.from(m.body)]),
        list.map((m) => [m.type, Array.from(m.body)]),
      );
    }),
    RUNS,
  );
});

Deno.test("fuzz: arbitrary bytes, truncations and bit flips end in messages or a ProtocolError", async () => {
  const damaged = fc.tuple(messages, fc.nat(), fc.array(fc.nat(), { maxLength: 3 })).map(
    ([list, cut, flips]) => {
      const bytes = concat(list.map((m) => encodeMessage(m.type, m.body)));
      const truncated = bytes.slice(0, bytes.length ? cut % (bytes.length + 1) : 0);
      for (const flip of flips) {
        if (truncated.length) truncated[flip % truncated.length] ^= 1 << (flip % 8);
      }
      return truncated;
    },
  );
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.uint8Array({ maxLength: 600 }), damaged),
      cuts,
      async (bytes, splits) => {
        const read = await readAll(streamOf(bytes, splits).stream);
        if (read instanceof ProtocolError) return;
        // Whatever was accepted lies in the stream exactly as framed.
        assertEquals(concat(read.map((m) => encodeMessage(m.type, m.body))), bytes);
      },
    ),
    RUNS,
  );
});

Deno.test("fuzz: a size field out of range is refused before its body is buffered", async () => {
  const tooBig = fc.bigInt({ min: BigInt(MESSAGE_SIZE_MAX) + 1n, max: (1n << 64n) - 1n });
  const tooSmall = fc.bigInt({ min: 0n, max: BigInt(HEADER_SIZE) - 1n });
  await fc.assert(
    fc.asyncProperty(fc.oneof(tooBig, tooSmall), cuts, async (size, splits) => {
      const header = new Uint8Array(HEADER_SIZE + 4096);
      new DataView(header.buffer).setBigUint64(0, size, true);
      const { stream, stats } = streamOf(header, splits);
      const read = await readAll(stream);
      assert(read instanceof ProtocolError, "refused");
      assert(read.message.includes("out of range"), read.message);
      // Nothing past the first piece that completes the header was asked for.
      assert(stats.pulled <= header.length, "bounded");
      const firstFull = [...new Set(splits.map((c) => c % (header.length + 1)))]
        .sort((a, b) => a - b).find((c) => c >= HEADER_SIZE) ?? header.length;
      assert(
        stats.pulled <= firstFull,
        `pulled ${stats.pulled} bytes, header done at ${firstFull}`,
      );
    }),
    RUNS,
  );
});

Deno.test("fuzz: message body decoders return a value or throw ProtocolError", () => {
  const decoders = [decodeHello, decodeChunk, decodeMissing, decodeRequest, decodeAbort];
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (body) => {
      for (const decode of decoders) {
        try {
          decode(body);
        } catch (error) {
          assert(error instanceof ProtocolError, `${decode.name}: ${error}`);
        }
      }
    }),
    RUNS,
  );
});
