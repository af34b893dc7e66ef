/**
 * What an extract still has to write: each chunk ID with its size and the
 * output offsets that still lack it. Sources (seeds, the output, stores) take
 * chunks off this list as they write them.
 */
import type { ChunkId } from "../format/chunk_id.ts";

export interface Need {
  readonly id: ChunkId;
  readonly size: number;
  /** Output offsets still to write, in blob order. */
  readonly offsets: number[];
}

export class ChunkNeeds {
  readonly #byId = new Map<ChunkId, Need>();
  readonly #bySize = new Map<number, Set<ChunkId>>();

  add(id: ChunkId, size: number, offset: number) {
    const need = this.#byId.get(id);
    if (need) {
      need.offsets.push(offset);
      return;
    }
    this.#byId.set(id, { id, size, offsets: [offset] });
    let ids = this.#bySize.get(size);
    if (!ids) this.#bySize.set(size, ids = new Set());
    ids.add(id);
  }

  get(id: ChunkId): Need | undefined {
    return this.#byId.get(id);
  }

  /** Removes a chunk from the list (it is being written); undefined when it was not on it. */
  take(id: ChunkId): Need | undefined {
    const need = this.#byId.get(id);
    if (!need) return undefined;
    this.#byId.delete(id);
    const ids = this.#bySize.get(need.size)!;
    ids.delete(id);
    if (ids.size === 0) this.#bySize.delete(need.size);
    return need;
  }

  /** Distinct chunks still needed. */
  get count(): number {
    return this.#byId.size;
  }

  hasSize(size: number): boolean {
    return this.#bySize.has(size);
  }

  /** The needed chunks of one size (a seed range can only be one of these). */
  ofSize(size: number): Iterable<ChunkId> {
    return this.#bySize.get(size) ?? [];
  }

  values(): IterableIterator<Need> {
    return this.#byId.values();
  }
}
