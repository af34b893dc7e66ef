/**
 * chunk-server, index-server and pull run as the user runs them, with the
 * README's permission flags; casync is the independent client where it can be.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import {
  codecTest,
  MAIN,
  missingTools,
  mustRun,
  removeDir,
  runCli,
  runTool,
  sha256sum,
  tempDir,
} from "../helpers.ts";
import { LocalStore } from "../../src/store/local.ts";
import { CASYNC_MISSING, casyncMake, storeIds } from "../interop/casync_fixture.ts";
import { startServerProcess } from "../server/serve_helpers.ts";
import {
  decodeAbort,
  decodeChunk,
  decodeHello,
  decodeMissing,
  encodeHello,
  encodeMessage,
  encodeRequest,
  Feature,
  MessageReader,
  MessageType,
} from "../../src/protocol/messages.ts";
import type { ChunkId } from "../../src/format/chunk_id.ts";
import { makeChunk } from "../store/conformance.ts";

const SERVE = ["--allow-net=127.0.0.1", "--allow-read"];
const SERVE_WRITABLE = [...SERVE, "--allow-write"];
const CLIENT = ["--allow-read", "--allow-write", "--allow-net=127.0.0.1"];

Deno.test({
  name: "chunk-server: casync and desync extract a casync-made blob from it; SIGTERM exits 0",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const f = await casyncMake(dir, { name: "served", size: 4 << 20, kind: "random" });
      const server = await startServerProcess(
        ["chunk-server", "-s", f.store, "-l", "127.0.0.1:0", "--log", `${dir}/access.log`],
        SERVE_WRITABLE,
      );
      let stopped;
      try {
        await mustRun("casync", ["extract", `--store=${server.url}`, f.index, `${dir}/by-casync`]);
        const ours = await runCli(
          ["extract", "-s", server.url, f.index, `${dir}/by-desync`],
          CLIENT,
        );
        assertEquals(ours.code, 0, ours.stderr);
      } finally {
        stopped = await server.stop("SIGTERM");
      }
      assertEquals(stopped.code, 0, stopped.stderr);
      assertEquals(await sha256sum(`${dir}/by-casync`), await sha256sum(f.blob));
      assertEquals(await sha256sum(`${dir}/by-desync`), await sha256sum(f.blob));
      const log = await Deno.readTextFile(`${dir}/access.log`);
      assertMatch(
        log,
        /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/[0-9a-f]{4}\/[0-9a-f]{64}\.cacnk HTTP\/1\.1" 200 \d+$/m,
      );
    } finally {
      await removeDir(dir);
    }
  },
});

Deno.test({
  name: "chunk-server -w: desync make pushes a store through it that casync extracts",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const f = await casyncMake(dir, { name: "pushed", size: 4 << 20, kind: "random" });
      const server = await startServerProcess(
        ["chunk-server", "-w", "-s", `${dir}/received`, "-l", "127.0.0.1:0"],
        SERVE_WRITABLE,
      );
      try {
        const made = await runCli(["make", "-s", server.url, `${dir}/made.caibx`, f.blob], CLIENT);
        assertEquals(made.code, 0, made.stderr);
      } finally {
        // A hangup stops a server as SIGTERM does: requests finish, exit 0.
        assertEquals((await server.stop("SIGHUP")).code, 0);
      }
      assertEquals(await Deno.readFile(`${dir}/made.caibx`), await Deno.readFile(f.index));
      assertEquals(storeIds(`${dir}/received`), storeIds(f.store));
      await mustRun("casync", ["extract", `--store=${dir}/received`, f.index, `${dir}/out`]);
      assertEquals(await sha256sum(`${dir}/out`), await sha256sum(f.blob));
    } finally {
      await removeDir(dir);
    }
  },
});

Deno.test("chunk-server: SIGTERM lets requests in flight finish, then exits 0", async (t) => {
  const dir = await tempDir(t);
  // A slow upstream store: the proxy's requests are in flight when the signal comes.
  const good = makeChunk(21);
  const bad = makeChunk(22);
  let asked = 0;
  const upstream = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async () => {
      asked++;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // The second chunk comes back as the first one's bytes: the proxy must refuse them.
      return new Response(good.compressed! as BodyInit);
    },
  );
  try {
    const server = await startServerProcess(
      ["chunk-server", "-s", `http://127.0.0.1:${upstream.addr.port}/`, "-l", "127.0.0.1:0"],
      SERVE,
    );
    const url = (id: string) => `${server.url}${id.slice(0, 4)}/${id}.cacnk`;
    const answers = [fetch(url(good.id)), fetch(url(bad.id))];
    while (asked < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    const stopping = server.stop("SIGTERM");
    const [served, refused] = await Promise.all(answers);
    assertEquals(served.status, 200);
    assertEquals(new Uint8Array(await served.arrayBuffer()), good.compressed);
    assertEquals(refused.status, 502);
    await refused.body?.cancel();
    const stopped = await stopping;
    assertEquals(stopped.code, 0, stopped.stderr);
    assertMatch(stopped.stderr, new RegExp(`chunk ${bad.id} in store http://.* is invalid`));
  } finally {
    await upstream.shutdown();
    await removeDir(dir);
  }
});

Deno.test({
  name: "index-server: PUT of an index with -w, GET back, list-chunks by URL; bad input refused",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const f = await casyncMake(dir, { name: "indexed", size: 1 << 20, kind: "random" });
      await Deno.mkdir(`${dir}/indexes`);
      const server = await startServerProcess(
        [
          "index-server",
          "-w",
          "-s",
          `${dir}/indexes`,
          "-l",
          "127.0.0.1:0",
          "--authorization",
          "Bearer x",
        ],
        SERVE_WRITABLE,
      );
      try {
        const bytes = await Deno.readFile(f.index);
        const auth = { authorization: "Bearer x" };
        const denied = await fetch(`${server.url}a/b.caibx`, { method: "PUT", body: bytes });
        assertEquals(denied.status, 401);
        await denied.body?.cancel();
        const put = await fetch(`${server.url}a/b.caibx`, {
          method: "PUT",
          body: bytes,
          headers: auth,
        });
        assertEquals(put.status, 201, await put.text());
        assertEquals(await Deno.readFile(`${dir}/indexes/a/b.caibx`), bytes);
        const truncated = await fetch(`${server.url}c.caibx`, {
          method: "PUT",
          body: bytes.subarray(0, bytes.length - 1),
          headers: auth,
        });
        assertEquals(truncated.status, 400);
        assertMatch(await truncated.text(), /c\.caibx: invalid index/);
        const listed = await runCli(
          ["--http-auth", "Bearer x", "list-chunks", `${server.url}a/b.caibx`],
          ["--allow-read", "--allow-net=127.0.0.1"],
        );
        assertEquals(listed.code, 0, listed.stderr);
        const local = await runCli(["list-chunks", f.index], ["--allow-read"]);
        assertEquals(listed.stdout, local.stdout);
      } finally {
        assertEquals((await server.stop("SIGINT")).code, 0);
      }
      assertEquals([...Deno.readDirSync(`${dir}/indexes`)].map((e) => e.name).sort(), ["a"]);
    } finally {
      await removeDir(dir);
    }
  },
});

/**
 * Runs `pull` with `input` on stdin; returns its messages, exit code and stderr.
 * With `nonBlocking`, its stdin and stdout are made non-blocking first (as
 * casync's pipes are for a local CASYNC_SSH_PATH program), and its answers are
 * read only after a pause, so that they fill the pipe.
 */
async function pullSession(args: string[], input: Uint8Array[], nonBlocking = false) {
  const deno = [Deno.execPath(), "run", "--quiet", "--allow-read", MAIN, "pull", ...args];
  // perl-base is in every Debian system: its fcntl sets O_NONBLOCK on the descriptions.
  const setNonBlocking = "use Fcntl; fcntl(STDIN, F_SETFL, O_NONBLOCK) or die; " +
    "fcntl(STDOUT, F_SETFL, O_NONBLOCK) or die; exec @ARGV or die";
  const [cmd, ...rest] = nonBlocking ? ["perl", "-e", setNonBlocking, ...deno] : deno;
  const child = new Deno.Command(cmd, {
    args: rest,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  for (const bytes of input) await writer.write(bytes).catch(() => {});
  if (nonBlocking) await new Promise((resolve) => setTimeout(resolve, 1000));
  await writer.close().catch(() => {});
  const reader = new MessageReader(child.stdout);
  const messages = [];
  try {
    for (let m = await reader.next(); m; m = await reader.next()) messages.push(m);
  } catch (error) {
    // A session that failed may have cut its last message short.
    if (!nonBlocking) throw error;
  }
  const stderr = new TextDecoder().decode(
    (await new Response(child.stderr).arrayBuffer()) as ArrayBuffer,
  );
  return { messages, code: (await child.status).code, stderr };
}

Deno.test({
  name: "pull: every ID of a REQUEST is answered, in order; GOODBYE ends it with exit 0",
  ignore: Boolean(CASYNC_MISSING),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const f = await casyncMake(dir, { name: "pulled", size: 1 << 20, kind: "random" });
      const ids = storeIds(f.store) as ChunkId[];
      const absent = "00".repeat(32) as ChunkId;
      const asked = [ids[0], absent, ids[1], ids[0]];
      for (const dashes of [["-", "-", "-", "-"], ["-", "-", "-"]]) {
        const session = await pullSession([...dashes, f.store], [
          encodeHello(Feature.PULL_CHUNKS),
          encodeRequest(asked, 1n),
          encodeMessage(MessageType.GOODBYE),
        ]);
        assertEquals(session.code, 0, session.stderr);
        const [hello, ...answers] = session.messages;
        assertEquals(decodeHello(hello.body), Feature.READABLE_STORE);
        assertEquals(answers.length, asked.length);
        for (const [i, answer] of answers.entries()) {
          if (asked[i] === absent) {
            assertEquals(answer.type, MessageType.MISSING);
            assertEquals(decodeMissing(answer.body), absent);
          } else {
            const chunk = decodeChunk(answer.body);
            assertEquals([chunk.id, chunk.compressed], [asked[i], true]);
            const file = `${f.store}/${asked[i].slice(0, 4)}/${asked[i]}.cacnk`;
            assertEquals(chunk.data, await Deno.readFile(file));
          }
        }
      }
    } finally {
      await removeDir(dir);
    }
  },
});

Deno.test({
  name: "pull: a non-blocking standard output that fills fails naming it (one line, exit 1)",
  ignore: Boolean(CASYNC_MISSING || missingTools("perl")),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const f = await casyncMake(dir, { name: "pulled", size: 2 << 20, kind: "random" });
      const session = await pullSession(["-", "-", "-", f.store], [
        encodeHello(Feature.PULL_CHUNKS),
        encodeRequest(storeIds(f.store) as ChunkId[], 1n),
      ], true);
      assertEquals(session.code, 1);
      assertMatch(
        session.stderr,
        /^desync: standard (input|output): cannot (read|write): [^\n]+\n$/,
      );
    } finally {
      await removeDir(dir);
    }
  },
});

Deno.test("pull: a bad message ends the session with ABORT, one line on stderr, exit 1", async (t) => {
  const dir = await tempDir(t);
  try {
    await Deno.mkdir(`${dir}/store`);
    const cases: [string, Uint8Array[], RegExp][] = [
      ["no HELLO first", [encodeRequest(["ab".repeat(32) as ChunkId])], /did not start with HELLO/],
      ["a push", [encodeHello(Feature.PUSH_CHUNKS)], /wants to push/],
      [
        "an empty REQUEST",
        [encodeHello(Feature.PULL_CHUNKS), encodeRequest([])],
        /without chunk IDs/,
      ],
      [
        "an unknown type",
        [encodeHello(Feature.PULL_CHUNKS), encodeMessage(0x1234n)],
        /unexpected message type 0x1234/,
      ],
      [
        "a huge size",
        [
          encodeHello(Feature.PULL_CHUNKS),
          new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
        ],
        /message size \d+ out of range/,
      ],
      [
        "a cut message",
        [encodeHello(Feature.PULL_CHUNKS).subarray(0, 20)],
        /ended inside a message/,
      ],
    ];
    for (const [what, input, reason] of cases) {
      const session = await pullSession(["-", "-", "-", "-", `${dir}/store`], input);
      assertEquals(session.code, 1, `${what}: ${session.stderr}`);
      assertEquals(session.stderr.trim().split("\n").length, 1, session.stderr);
      assertMatch(session.stderr, /^desync: /);
      assertMatch(session.stderr, reason);
      const abort = session.messages.find((m) => m.type === MessageType.ABORT);
      if (what !== "a cut message" && what !== "a huge size") {
        assert(abort, `${what}: ABORT sent`);
        assertMatch(decodeAbort(abort.body).reason, reason);
      }
    }
    const usage = await runTool(Deno.execPath(), [
      "run",
      "--quiet",
      "--allow-read",
      MAIN,
      "pull",
      "-",
      "-",
    ]);
    assertEquals(usage.code, 2);
    assertMatch(usage.stderr, /^desync: pull wants BASE ARCHIVE INDEX WSTORE/);
  } finally {
    await removeDir(dir);
  }
});

Deno.test("pull: an index named by a FIFO or a directory is refused, not waited on", async (t) => {
  const dir = await tempDir(t);
  try {
    const made = await new Deno.Command("mkfifo", { args: [`${dir}/fifo.caibx`] }).output();
    assert(made.success, "mkfifo");
    await Deno.mkdir(`${dir}/dir.caibx`);
    for (const [name, kind] of [["fifo", "a FIFO"], ["dir", "a directory"]]) {
      const session = await pullSession(["-", "-", `${dir}/${name}.caibx`, "-"], [
        encodeHello(Feature.PULL_INDEX),
      ]);
      assertEquals(session.code, 1, session.stderr);
      assertEquals(
        session.stderr,
        `desync: ${dir}/${name}.caibx: cannot read index: it is ${kind}, not an index file\n`,
      );
    }
  } finally {
    await removeDir(dir);
  }
});

codecTest(
  "pull: a failover group of local stores serves its chunks; a FIFO at a chunk's name ends the session",
  async (dir, codec) => {
    const [a, b] = [`${dir}/a`, `${dir}/b`];
    const chunk = makeChunk(7);
    const fifo = makeChunk(8).id;
    for (const store of [a, b]) {
      const local = await LocalStore.open(store, { codec, digests: ["sha512-256"], create: true });
      await local.storeChunk(chunk);
    }
    const served = await pullSession(["-", "-", "-", "-", `${a}|${b}`], [
      encodeHello(Feature.PULL_CHUNKS),
      encodeRequest([chunk.id], 1n),
      encodeMessage(MessageType.GOODBYE),
    ]);
    assertEquals(served.code, 0, served.stderr);
    assertEquals(served.messages.map((m) => m.type), [MessageType.HELLO, MessageType.CHUNK]);
    const sent = decodeChunk(served.messages[1].body);
    assertEquals([sent.id, sent.compressed, sent.data], [chunk.id, true, chunk.compressed]);

    await Deno.mkdir(`${a}/${fifo.slice(0, 4)}`, { recursive: true });
    const made = await new Deno.Command("mkfifo", {
      args: [`${a}/${fifo.slice(0, 4)}/${fifo}.cacnk`],
    }).output();
    assert(made.success, "mkfifo");
    const refused = await pullSession(["-", "-", "-", "-", a], [
      encodeHello(Feature.PULL_CHUNKS),
      encodeRequest([fifo], 1n),
      encodeMessage(MessageType.GOODBYE),
    ]);
    assertEquals(refused.code, 1, refused.stderr);
    assertMatch(refused.stderr, /^desync: .*\.cacnk is a FIFO, not a chunk file\n$/);
    const abort = refused.messages.find((m) => m.type === MessageType.ABORT);
    assert(abort, "ABORT sent");
    assertMatch(decodeAbort(abort.body).reason, /is a FIFO, not a chunk file/);
  },
);

Deno.test("index-server: an S3 or SFTP location is a usage error naming its scheme", async () => {
  for (
    const [store, scheme] of [["s3+http://127.0.0.1:1/bucket/x", "s3+http"], ["sftp://h/x", "sftp"]]
  ) {
    const run = await runTool(Deno.execPath(), [
      "run",
      "--quiet",
      ...SERVE,
      MAIN,
      "index-server",
      "-s",
      store,
      "-l",
      "127.0.0.1:0",
    ]);
    assertEquals(run.code, 2, run.stderr);
    assertEquals(
      run.stderr,
      `desync: index store ${store}: ${scheme} locations cannot be served ` +
        "(serve a directory, an http(s):// or an ssh:// location)\n",
    );
  }
});
