import type { Command } from "./args/mod.ts";
import { document } from "./help.ts";
import { CodecPool } from "../chunk/codec_pool.ts";
import { storeContext } from "./common.ts";
import { stdioError, writeAll } from "../util/fs.ts";

export function registerPull(program: Command) {
  document(program.command("pull"), {
    local: true,
    examples: [
      [
        "let SSH clients read /srv/store through this tool",
        "CASYNC_REMOTE_PATH=desync desync extract -s ssh://host/srv/store x.caibx x",
      ],
      ["what the client runs on the server", "desync pull - - - /srv/store"],
    ],
  })
    .description(
      "serve stores (and an index) over casync's protocol on stdin/stdout, for SSH clients " +
        "(CASYNC_REMOTE_PATH=desync)",
    )
    .argument("<args...>", "BASE ARCHIVE INDEX WSTORE [STORE…] as casync takes them, - for none")
    .action(async (args: string[], _opts, command: Command) => {
      const { parsePullArgs, runPull } = await import("../server/pull.ts");
      const parsed = parsePullArgs(args);
      const codec = new CodecPool(1);
      try {
        const context = await storeContext(command, codec, ["sha512-256", "sha256"]);
        await runPull(parsed, context, {
          input: stdinReadable(),
          output: stdoutWritable(),
        });
      } finally {
        codec.close();
      }
    });
}

/**
 * A failure of the session's standard input or output, named (Deno's own
 * message names neither: "Resource temporarily unavailable" when a parent gave
 * non-blocking descriptors). A client gone (a broken pipe, a reset) stays as it
 * is: that ends the session quietly.
 */
function sessionError(stream: "standard input" | "standard output", error: unknown): unknown {
  if (error instanceof Deno.errors.ConnectionReset) return error;
  return stdioError(stream, stream === "standard input" ? "read" : "write", error);
}

function stdinReadable(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      const buffer = new Uint8Array(64 << 10);
      let n;
      try {
        n = await Deno.stdin.read(buffer);
      } catch (error) {
        throw sessionError("standard input", error);
      }
      if (n === null) controller.close();
      else controller.enqueue(buffer.subarray(0, n));
    },
  });
}

function stdoutWritable(): WritableStream<Uint8Array> {
  return new WritableStream({
    async write(bytes) {
      try {
        await writeAll(Deno.stdout, bytes);
      } catch (error) {
        throw sessionError("standard output", error);
      }
    },
  });
}
