import type { Command } from "./args/mod.ts";
import { document } from "./help.ts";
import { verbose } from "./log.ts";
import { userDb } from "../util/user_db.ts";
import { addArchiveSourceOptions, withArchiveSource } from "./archive_source.ts";

export function registerUntar(program: Command) {
  addArchiveSourceOptions(
    document(program.command("untar"), {
      stores: true,
      examples: [
        ["unpack a catar archive", "desync untar backup.catar /srv/restore"],
        [
          "unpack an index, its chunks from a store",
          "desync untar -i -s http://mirror/store backup.caidx /srv/restore",
        ],
        ["unpack without changing owners", "desync untar --no-same-owner backup.catar ./tree"],
      ],
    })
      .description("unpack a catar archive, or with -i a .caidx from stores, into a directory")
      .argument("<archive>", "catar file (- for stdin), or an index with -i")
      .argument("<dir>", "directory to unpack into (created when missing)"),
  )
    .option("--same-owner", "set owners from the archive (the default as root)")
    .option("--no-same-owner", "leave files owned by the user running untar")
    .option("--no-same-permissions", "apply the umask and drop setuid, setgid and sticky bits")
    .action(async (archive: string, dir: string, opts, command: Command) => {
      await withArchiveSource(archive, command, async ({ source, feed, signal, lanes }) => {
        const users = userDb();
        // Loaded here: they pull in node:fs, which other commands need not load.
        const { untar } = await import("../ops/untar.ts");
        const { selectTreeFs } = await import("../util/tree_fs.ts");
        const fs = selectTreeFs();
        if (fs.kind === "deno") {
          verbose(
            "without --allow-ffi: times set to the millisecond, no device nodes, FIFOs, " +
              "sockets or extended attributes",
          );
        }
        await untar({
          fs,
          target: dir,
          source,
          feed,
          sameOwner: opts.sameOwner,
          samePermissions: opts.samePermissions,
          users,
          signal,
          lanes,
        });
      });
    });
}
