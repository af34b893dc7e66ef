/**
 * A failover group (`-s "http://a/|http://b/"`): stores that hold the same
 * chunks, one of them active. Requests go to the active member; when it fails
 * with anything but "chunk missing", the next member becomes active for this
 * and all later requests, round the group, until each member has failed once
 * for the request. A missing chunk is final: the members are copies. When every
 * member failed, the error names the group and the last member's reason.
 */
import { ChunkMissing, StoreError } from "../errors.ts";
import type { ChunkId } from "../format/chunk_id.ts";
import {
  type Chunk,
  type ChunkWant,
  deepestPipeline,
  isRawChunkStore,
  type RawChunk,
  type RawChunkStore,
  type Store,
} from "./store.ts";

/** Splits a `-s` value into the locations of a group's members (one for a plain store). */
export function groupMembers(location: string): string[] {
  return location.split("|");
}

export class FailoverGroup implements Store {
  readonly name: string;
  readonly members: readonly Store[];
  #active = 0;

  constructor(members: readonly Store[]) {
    if (members.length === 0) throw new RangeError("a failover group needs a member");
    this.members = members;
    this.name = members.map((store) => store.name).join("|");
  }

  /** Requests go to one member at a time: the deepest pipeline among them is kept busy. */
  get pipelineDepth(): number | undefined {
    return deepestPipeline(this.members);
  }

  /** The member requests go to now. */
  get active(): Store {
    return this.members[this.#active];
  }

  getChunk(id: ChunkId, signal?: AbortSignal, want?: ChunkWant): Promise<Chunk> {
    return this.attempt((store) => store.getChunk(id, signal, want), signal);
  }

  hasChunk(id: ChunkId, signal?: AbortSignal): Promise<boolean> {
    return this.attempt((store) => store.hasChunk(id, signal), signal);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.members.map((store) => store.close()));
  }

  protected async attempt<T>(
    request: (store: Store) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    let lastError: unknown;
    for (let tried = 0; tried < this.members.length; tried++) {
      const index = this.#active;
      try {
        return await request(this.members[index]);
      } catch (error) {
        if (error instanceof ChunkMissing || signal?.aborted) throw error;
        lastError = error;
        // Concurrent requests may have failed over already; move on from this member only once.
        if (this.#active === index) this.#active = (index + 1) % this.members.length;
      }
    }
    // Name the group, so the last member's reason does not read as the only one tried.
    if (this.members.length > 1 && lastError instanceof StoreError) {
      throw new StoreError(
        this.name,
        `all ${this.members.length} members failed, the last with: ${lastError.message}`,
        { cause: lastError },
      );
    }
    throw lastError;
  }
}

/** A group whose members all hand over raw chunk data, so the group does too. */
export class RawFailoverGroup extends FailoverGroup implements RawChunkStore {
  getRawChunk(id: ChunkId, signal?: AbortSignal): Promise<RawChunk> {
    return this.attempt((store) => (store as RawChunkStore).getRawChunk(id, signal), signal);
  }
}

export function failoverGroup(members: readonly Store[]): FailoverGroup {
  return members.every(isRawChunkStore)
    ? new RawFailoverGroup(members)
    : new FailoverGroup(members);
}
