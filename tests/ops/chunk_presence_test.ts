import { assertEquals } from "../assert.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { checkPresence } from "../../src/ops/chunk_presence.ts";
import { LocalStore } from "../../src/store/local.ts";
import type { Store } from "../../src/store/store.ts";
import { codecTest } from "../helpers.ts";

const id = (n: number) => n.toString(16).padStart(64, "0") as ChunkId;

async function seen(ids: ChunkId[], store: Store): Promise<string> {
  const marks: string[] = [];
  await checkPresence(ids, store, 4, undefined, (chunk, present) => {
    marks.push(`${parseInt(chunk, 16)}${present ? "+" : "-"}`);
  });
  return marks.sort().join(" ");
}

codecTest(
  "chunk presence: a local store's .cacnk and plain files count, empty ones and others not",
  async (dir, codec) => {
    const store = await LocalStore.open(`${dir}/store`, {
      codec,
      digests: ["sha512-256"],
      create: true,
    });
    // Where casync and Go desync put them: <store>/<first 4 hex>/<id>.cacnk (or without the suffix).
    const put = (n: number, name: string, bytes: number) => {
      Deno.mkdirSync(`${dir}/store/${id(n).slice(0, 4)}`, { recursive: true });
      Deno.writeFileSync(`${dir}/store/${id(n).slice(0, 4)}/${name}`, new Uint8Array(bytes));
    };
    put(1, `${id(1)}.cacnk`, 10);
    put(2, id(2), 10);
    put(3, `${id(3)}.cacnk`, 0); // what a crash leaves: not a chunk
    Deno.mkdirSync(`${dir}/store/0000/${id(4)}.cacnk`); // a directory: not a chunk
    const ids = Array.from({ length: 2100 }, (_, i) => id(i + 1)); // past a yield to the event loop
    const marks = await seen(ids, store);
    assertEquals(marks.split(" ").filter((mark) => mark.endsWith("+")), ["1+", "2+"]);
    assertEquals(marks.split(" ").length, 2100);
  },
);

Deno.test("chunk presence: other stores are asked", async () => {
  const store: Store = {
    name: "memory",
    getChunk: () => Promise.reject(new Error("not asked")),
    hasChunk: (chunk) => Promise.resolve(chunk === id(7)),
    close: () => Promise.resolve(),
  };
  assertEquals(await seen([id(6), id(7), id(8)], store), "6- 7+ 8-");
});
