/**
 * How many chunks callers ask of a store at once (requestWindow): -n, or the
 * store's pipeline when it is deeper; stores made of others pass on the
 * deepest pipeline among the stores they may ask.
 */
import { assertEquals } from "../assert.ts";
import { CachedStore } from "../../src/store/cache.ts";
import { failoverGroup } from "../../src/store/failover.ts";
import { StoreRouter } from "../../src/store/router.ts";
import { requestWindow, type Store, type WriteStore } from "../../src/store/store.ts";

const notAsked = () => Promise.reject(new Error("not asked"));

function store(name: string, fields: object = {}): Store {
  return {
    name,
    getChunk: notAsked,
    hasChunk: notAsked,
    close: () => Promise.resolve(),
    ...fields,
  };
}

const ssh = store("ssh", { getRawChunk: notAsked, pipelineDepth: 16 });
const local = store("local", { getRawChunk: notAsked });

Deno.test("requestWindow: a pipelining store is kept busy even at -n 1; others get -n", () => {
  assertEquals(requestWindow(ssh, 1), 16);
  assertEquals(requestWindow(ssh, 40), 40);
  assertEquals(requestWindow(local, 3), 3);
  assertEquals(requestWindow(store("plain"), 3), 3);
});

Deno.test("requestWindow: routers, failover groups and caches pass on their deepest pipeline", () => {
  assertEquals(requestWindow(new StoreRouter([local, ssh]), 1), 16);
  assertEquals(requestWindow(new StoreRouter([local, store("plain")]), 1), 1);
  assertEquals(requestWindow(failoverGroup([ssh, local]), 2), 16);
  assertEquals(requestWindow(failoverGroup([local, local]), 2), 2);
  const cache = { ...store("cache"), storeChunk: notAsked } as unknown as WriteStore;
  assertEquals(requestWindow(new CachedStore(cache, ssh), 1), 16);
  assertEquals(requestWindow(new CachedStore(cache, local), 1), 1);
});
