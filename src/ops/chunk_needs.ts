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
  /**
   * The IDs by size, made when a seed first asks: most chunks have a size of
   * their own, so this costs a set per chunk, which an extract from stores
   * alone should not carry (memory must not grow with the blob).
   */
  #sized?: Map<number, Set<ChunkId>>;

  add(id: ChunkId, size: number, offset: number) {
    const need = this.#byId.get(id);
    if (need) {
      need.offsets.push(offset);
      return;
    }
    this.#byId.set(id, { id, size, offsets: [offset] });
    if (this.#sized) addSized(this.#sized, id, size);
  }

  get #bySize(): Map<number, Set<ChunkId>> {
    if (!this.#sized) {
      this.#sized = new Map();
      for (const need of this.#byId.values()) addSized(this.#sized, need.id, need.size);
    }
    return this.#sized;
  }

  get(id: ChunkId): Need | undefined {
    return this.#byId.get(id);
  }

  /** Removes a chunk from the list (it is being written); undefined when it was not on it. */
  take(id: ChunkId): Need | undefined {
    const need = this.#byId.get(id);
    if (!need) return undefined;
    this.#byId.delete(id);
    const ids = this.#sized?.get(need.size);
    if (ids) {
      ids.delete(id);
      if (ids.size === 0) this.#sized!.delete(need.size);
    }
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

function addSized(sized: Map<number, Set<ChunkId>>, id: ChunkId, size: number) {
  let ids = sized.get(size);
  if (!ids) sized.set(size, ids = new Set());
  ids.add(id);
}
