import { assertEquals, assertRejects } from "../assert.ts";
import { ChunkMissing, StoreError } from "../../src/errors.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { failoverGroup, groupMembers } from "../../src/store/failover.ts";
import type { Chunk, Store } from "../../src/store/store.ts";

const ID = "ab".repeat(32) as ChunkId;

/** A store that answers with data, "missing", or a failure, and counts its requests. */
function fake(name: string, answer: "ok" | "missing" | "down") {
  const store = {
    name,
    requests: 0,
    getChunk(id: ChunkId): Promise<Chunk> {
      store.requests++;
      if (answer === "missing") return Promise.reject(new ChunkMissing(id, name));
      if (answer === "down") return Promise.reject(new StoreError(name, "connection refused"));
      return Promise.resolve({ id, plain: new TextEncoder().encode(name) });
    },
    hasChunk(): Promise<boolean> {
      store.requests++;
      return answer === "down"
        ? Promise.reject(new StoreError(name, "connection refused"))
        : Promise.resolve(answer === "ok");
    },
    close: () => Promise.resolve(),
  };
  return store satisfies Store;
}

Deno.test("failover: a failing member hands this and all later requests to the next", async () => {
  const a = fake("a", "down");
  const b = fake("b", "ok");
  const group = failoverGroup([a, b]);
  assertEquals(group.name, "a|b");
  assertEquals(new TextDecoder().decode((await group.getChunk(ID)).plain), "b");
  assertEquals(await group.hasChunk(ID), true);
  await group.getChunk(ID);
  assertEquals([a.requests, b.requests], [1, 3]);
});

Deno.test("failover: a missing chunk is final (members are copies); all failing is the last error", async () => {
  const a = fake("a", "missing");
  const b = fake("b", "ok");
  await assertRejects(() => failoverGroup([a, b]).getChunk(ID), ChunkMissing);
  assertEquals(b.requests, 0);
  await assertRejects(
    () => failoverGroup([fake("a", "down"), fake("b", "down")]).getChunk(ID),
    StoreError,
    "store b",
  );
  assertEquals(groupMembers("http://a/|http://b/"), ["http://a/", "http://b/"]);
  assertEquals(groupMembers("/local"), ["/local"]);
});
