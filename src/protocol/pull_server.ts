/**
 * The serving side of casync's remote protocol (what `casync pull` does at the
 * far end of an SSH connection): both sides say HELLO; a client that pulls an
 * index gets it as INDEX messages and INDEX_EOF; every chunk ID of every REQUEST
 * is answered, in order, with CHUNK or MISSING; GOODBYE or the end of input ends
 * the session. Requests are read while answers are written, so a client that
 * sends many requests before reading never deadlocks with us.
 */
import type { ChunkId } from "../format/chunk_id.ts";
import {
  decodeAbort,
  decodeHello,
  decodeRequest,
  encodeAbort,
  encodeChunk,
  encodeHello,
  encodeMessage,
  encodeMissing,
  Feature,
  HEADER_SIZE,
  MESSAGE_SIZE_MAX,
  MessageReader,
  MessageType,
  ProtocolError,
} from "./messages.ts";

/** A chunk as sent: its zstd frame (`compressed`), or its plain data. */
export interface PulledChunk {
  data: Uint8Array;
  compressed: boolean;
}

export interface PullServerOptions {
  /** Looks a chunk up; undefined when no store has it. Absent: no store is served. */
  getChunk?: (id: ChunkId) => Promise<PulledChunk | undefined>;
  /** The index file's bytes, when one is served. */
  index?: Uint8Array;
  /** Chunks looked up ahead of the one being sent. */
  lookahead?: number;
  /** Most requested IDs queued before requests stop being read. */
  maxQueued?: number;
}

const EBADMSG = 74n;
const EIO = 5n;
const REQUEST_FLAGS = 0x1n; // CA_PROTOCOL_REQUEST_HIGH_PRIORITY
const PULL_OPERATIONS = Feature.PULL_CHUNKS | Feature.PULL_INDEX | Feature.PULL_ARCHIVE;
const PUSH_OPERATIONS = Feature.PUSH_CHUNKS | Feature.PUSH_INDEX | Feature.PUSH_INDEX_CHUNKS |
  Feature.PUSH_ARCHIVE;

/** The client ended the session with ABORT. */
export class ClientAborted extends Error {}

/**
 * Serves one session on `input`/`output`. Resolves when the client says GOODBYE
 * or closes its end; rejects with ProtocolError on a message that breaks the
 * protocol (after sending ABORT), with ClientAborted on the client's ABORT.
 */
export async function servePull(
  input: ReadableStream<Uint8Array>,
  output: WritableStream<Uint8Array>,
  options: PullServerOptions,
): Promise<void> {
  const writer = output.getWriter();
  const reader = new MessageReader(input);
  const lookahead = Math.max(1, options.lookahead ?? 8);
  const maxQueued = Math.max(1, options.maxQueued ?? 65_536);
  const queue = new IdQueue();
  const inFlight: Promise<Uint8Array>[] = [];
  let wake: (() => void) | undefined;
  let room: (() => void) | undefined;
  let reading = true;
  /** Answering failed: reading requests stops, and must not wait for room that never comes. */
  let answeringFailed = false;
  let failure: unknown;

  const services = (options.getChunk ? Feature.READABLE_STORE : 0n) |
    (options.index ? Feature.READABLE_INDEX : 0n);
  const answer = async (id: ChunkId): Promise<Uint8Array> => {
    const chunk = await options.getChunk!(id);
    if (!chunk) return encodeMissing(id);
    if (chunk.data.length + HEADER_SIZE + 40 > MESSAGE_SIZE_MAX) {
      throw new ProtocolError(`chunk ${id} of ${chunk.data.length} bytes does not fit a message`);
    }
    return encodeChunk(id, chunk.data, chunk.compressed);
  };

  /** Sends answers in request order, looking up to `lookahead` chunks ahead. */
  const sendAnswers = async () => {
    for (;;) {
      while (inFlight.length < lookahead && queue.length > 0) {
        const pending = answer(queue.shift());
        pending.catch(() => {}); // awaited below, in order
        inFlight.push(pending);
        room?.();
      }
      if (inFlight.length === 0) {
        if (!reading) return;
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
        continue;
      }
      await writer.write(await inFlight.shift()!);
    }
  };

  await writer.write(encodeHello(services));
  const sending = (async () => {
    const hello = await reader.next();
    if (!hello) return; // the client left before saying anything
    if (hello.type !== MessageType.HELLO) {
      throw new ProtocolError("the client did not start with HELLO");
    }
    const wanted = decodeHello(hello.body);
    checkOperations(wanted, services);
    if (wanted & Feature.PULL_INDEX) await sendIndex(writer, options.index!);
    const answering = sendAnswers();
    answering.catch(() => {
      answeringFailed = true;
      room?.();
      reader.cancel();
    });
    try {
      await readRequests();
    } finally {
      reading = false;
      wake?.();
    }
    await answering;
  })();

  async function readRequests() {
    for (;;) {
      const message = await reader.next();
      if (!message) return;
      switch (message.type) {
        case MessageType.REQUEST: {
          if (!options.getChunk) throw new ProtocolError("REQUEST, but no chunk store is served");
          const { flags, ids } = decodeRequest(message.body);
          if (ids.length === 0) throw new ProtocolError("REQUEST without chunk IDs");
          if (flags & ~REQUEST_FLAGS) {
            throw new ProtocolError(`REQUEST with unknown flags ${flags}`);
          }
          queue.push(ids);
          wake?.();
          while (queue.length >= maxQueued && !answeringFailed) {
            await new Promise<void>((resolve) => room = resolve);
            room = undefined;
          }
          if (answeringFailed) return; // the failure is answering's, rethrown by the caller
          break;
        }
        case MessageType.GOODBYE:
          if (message.body.length !== 0) throw new ProtocolError("GOODBYE with a body");
          return;
        case MessageType.ABORT: {
          const { reason } = decodeAbort(message.body);
          throw new ClientAborted(`the client aborted${reason ? `: ${reason}` : ""}`);
        }
        case MessageType.HELLO:
          throw new ProtocolError("a second HELLO");
        default:
          throw new ProtocolError(`unexpected message type 0x${message.type.toString(16)}`);
      }
    }
  }

  try {
    await sending;
  } catch (error) {
    failure = error;
  }
  const clientGone = failure instanceof ClientAborted || isBrokenPipe(failure);
  if (failure !== undefined && !clientGone) {
    // Tell the client why, as casync does (EBADMSG for a bad message, EIO otherwise).
    const reason = (failure instanceof Error ? failure.message : String(failure))
      // deno-lint-ignore no-control-regex
      .replace(/[\x00-\x1f]/g, " ");
    const code = failure instanceof ProtocolError ? EBADMSG : EIO;
    await writer.write(encodeAbort(reason, code)).catch(() => {});
  }
  reader.cancel();
  await writer.close().catch(() => {});
  if (failure !== undefined && !isBrokenPipe(failure)) throw failure;
}

/**
 * The requested IDs not yet looked up, first in first out. Not a bare array:
 * Array.shift copies a large array's every element (a REQUEST may hold half a
 * million IDs), and push(...ids) takes more arguments than a call can.
 */
class IdQueue {
  #ids: ChunkId[] = [];
  #head = 0;

  get length(): number {
    return this.#ids.length - this.#head;
  }

  push(ids: readonly ChunkId[]) {
    for (const id of ids) this.#ids.push(id);
  }

  /** The oldest ID; the queue must not be empty. */
  shift(): ChunkId {
    const id = this.#ids[this.#head++];
    // Dropping the taken half now and then keeps each shift O(1) on average.
    if (this.#head * 2 >= this.#ids.length) {
      this.#ids = this.#ids.slice(this.#head);
      this.#head = 0;
    }
    return id;
  }
}

/** What the client wants must be what we offer, and it must want something. */
function checkOperations(wanted: bigint, services: bigint) {
  if (wanted & PUSH_OPERATIONS) {
    throw new ProtocolError("the client wants to push; this store is read-only");
  }
  if (!(wanted & PULL_OPERATIONS)) throw new ProtocolError("the client wants no operation");
  if ((wanted & Feature.PULL_CHUNKS) && !(services & Feature.READABLE_STORE)) {
    throw new ProtocolError("the client wants chunks, but no store is served");
  }
  if ((wanted & Feature.PULL_INDEX) && !(services & Feature.READABLE_INDEX)) {
    throw new ProtocolError("the client wants an index, but none is served");
  }
  if (wanted & Feature.PULL_ARCHIVE) throw new ProtocolError("serving archives is not supported");
}

async function sendIndex(writer: WritableStreamDefaultWriter<Uint8Array>, index: Uint8Array) {
  const piece = MESSAGE_SIZE_MAX - HEADER_SIZE;
  for (let at = 0; at < index.length; at += piece) {
    await writer.write(encodeMessage(MessageType.INDEX, index.subarray(at, at + piece)));
  }
  await writer.write(encodeMessage(MessageType.INDEX_EOF));
}

function isBrokenPipe(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset;
}
