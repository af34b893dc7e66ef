/**
 * A failover group whose members all fail: one error that names the group
 * (so the user knows every member was tried) and the last member's reason,
 * as Go desync's `a|b: <b's error>`.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { ChunkInvalid, StoreError } from "../../src/errors.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { failoverGroup } from "../../src/store/failover.ts";
import type { Chunk, Store } from "../../src/store/store.ts";

const ID = "cd".repeat(32) as ChunkId;

function failing(name: string, error: () => Error): Store {
  return {
    name,
    getChunk: (): Promise<Chunk> => Promise.reject(error()),
    hasChunk: (): Promise<boolean> => Promise.reject(error()),
    close: () => Promise.resolve(),
  };
}

Deno.test("failover: all members down is one StoreError naming the group and the last reason", async () => {
  const group = failoverGroup([
    failing("http://a/", () => new StoreError("http://a/", "connection refused")),
    failing("sftp://b/s", () => new StoreError("sftp://b/s", "no answer within 1000 ms")),
  ]);
  for (const ask of [() => group.getChunk(ID), () => group.hasChunk(ID)]) {
    const error = await assertRejects(ask, StoreError);
    assertEquals(error.store, "http://a/|sftp://b/s");
    assertEquals(
      error.message,
      "store http://a/|sftp://b/s: all 2 members failed, the last with: " +
        "store sftp://b/s: no answer within 1000 ms",
    );
    assert(error.cause instanceof StoreError, "the member's error is the cause");
  }
});

Deno.test("failover: an error that is not the stores' own (an invalid chunk) keeps its type", async () => {
  const group = failoverGroup([
    failing("a", () => new StoreError("a", "down")),
    failing("b", () => new ChunkInvalid(ID, "b", "content hashes to 00")),
  ]);
  const error = await assertRejects(() => group.getChunk(ID), ChunkInvalid);
  assertEquals(error.store, "b");
});
