/** The servers' access logs: a line per request, and the file closed with the server. */
import { assertEquals, assertMatch } from "../assert.ts";
import { startChunkServer } from "../../src/server/chunk_server.ts";
import { startIndexServer } from "../../src/server/index_server.ts";
import { codecTest } from "../helpers.ts";

/** Whether this process has `path` open (Linux: /proc/self/fd). */
function isOpen(path: string): boolean {
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${entry.name}`) === path) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

codecTest(
  "access log: chunk-server and index-server close their log file when closed",
  async (dir, codec) => {
    await Deno.mkdir(`${dir}/store`);
    const log = `${dir}/access.log`;
    const listen = [{ hostname: "127.0.0.1", port: 0 }];
    const servers = [
      await startChunkServer(
        { stores: [`${dir}/store`], listen, writable: false, uncompressed: false, log },
        { codec, digests: ["sha512-256"] },
      ),
      await startIndexServer({ store: `${dir}/store`, listen, writable: false, log }),
    ];
    for (const server of servers) {
      const response = await fetch(`${server.urls[0]}0000/${"0".repeat(64)}.cacnk`);
      await response.body?.cancel();
      assertEquals(isOpen(log), true, "open while serving");
      await server.close();
    }
    assertEquals(isOpen(log), false, "closed with the servers");
    const lines = (await Deno.readTextFile(log)).trim().split("\n");
    assertEquals(lines.length, 2);
    assertMatch(lines[0], /"GET \/0000\/0{64}\.cacnk HTTP\/1\.1" 404 /);
    assertMatch(lines[1], /"GET \/0000\/0{64}\.cacnk HTTP\/1\.1" 400 /);
  },
);
