/**
 * mtree: describe an archive's tree in mtree(5) format, one line per entry:
 * path, type, mode, link target or device, owner, size, modification time and
 * the file contents' digest (SHA-512/256 or SHA-256, as the archive's feature flags say).
 * Paths escape "\", "#", space, and bytes outside printable ASCII as \ooo, as
 * mtree(5) and Go desync do, so a hostile name cannot inject keywords.
 */
import { createHash, type Hash } from "node:crypto";
import { S_IFBLK, S_IFMT } from "../format/catar.ts";
import { digestOf } from "../format/index.ts";
import { type ArchiveEvent, type ArchiveNode, CatarDecoder } from "../format/catar_decoder.ts";

const encoder = new TextEncoder();

/** mtree(5)'s escaping of a name or path. */
export function mtreeEscape(bytes: Uint8Array): string {
  let out = "";
  for (const c of bytes) {
    out += c === 0x5c || c === 0x23 || c <= 0x20 || c > 0x7e
      ? `\\${c.toString(8).padStart(3, "0")}`
      : String.fromCharCode(c);
  }
  return out;
}

const TYPES: Record<ArchiveNode["kind"], string> = {
  directory: "dir",
  file: "file",
  symlink: "link",
  device: "char",
  fifo: "fifo",
  socket: "socket",
};

/** Turns archive events into mtree lines; `path` bytes are joined as stored. */
export class MtreeFormatter {
  readonly #names: Uint8Array[] = [];
  #hash: Hash | undefined;
  #pending: string[] = [];

  /** The lines the events complete (a file's line waits for its digest). */
  lines(events: readonly ArchiveEvent[]): string[] {
    const out: string[] = [];
    for (const event of events) {
      if (event.type === "data") {
        this.#hash!.update(event.bytes);
      } else if (event.type === "node") {
        const { node } = event;
        this.#names.length = node.depth;
        if (node.depth > 0) this.#names[node.depth - 1] = node.name;
        const fields = this.#fields(node);
        if (node.kind === "file") {
          this.#pending = fields;
          this.#hash = createHash(digestOf(node.entry));
        } else {
          out.push(fields.join(" "));
        }
      } else if (event.node.kind === "file") {
        const name = digestOf(event.node.entry) === "sha512-256"
          ? "sha512256digest"
          : "sha256digest";
        out.push([...this.#pending, `${name}=${this.#hash!.digest("hex")}`].join(" "));
        this.#hash = undefined;
      }
    }
    return out;
  }

  #fields(node: ArchiveNode): string[] {
    const { entry } = node;
    const path = node.depth === 0 ? "." : this.#names.map(mtreeEscape).join("/");
    let type = TYPES[node.kind];
    if (node.kind === "device" && (entry.mode & S_IFMT) === S_IFBLK) type = "block";
    const fields = [
      path,
      `type=${type}`,
      `mode=${(entry.mode & 0o7777).toString(8).padStart(4, "0")}`,
    ];
    // Right after the mode, where casync puts them (and Go desync its `target=`).
    if (node.kind === "symlink") fields.push(`link=${mtreeEscape(node.target!)}`);
    if (node.kind === "device") fields.push(`device=linux,${node.major},${node.minor}`);
    fields.push(`uid=${entry.uid}`, `gid=${entry.gid}`);
    if (node.user !== undefined) fields.push(`uname=${mtreeEscape(encoder.encode(node.user))}`);
    if (node.group !== undefined) fields.push(`gname=${mtreeEscape(encoder.encode(node.group))}`);
    if (node.kind === "file") fields.push(`size=${node.size}`);
    const seconds = entry.mtimeNs / 1_000_000_000n;
    const nanos = entry.mtimeNs % 1_000_000_000n;
    fields.push(`time=${seconds}.${nanos.toString().padStart(9, "0")}`);
    return fields;
  }
}

export interface MtreeOptions {
  source: string;
  /** As for untar: pushes the archive's bytes in order. */
  feed: (push: (bytes: Uint8Array) => Promise<void>) => Promise<void>;
  /** Receives the output, a line (with its newline) at a time. */
  print: (text: string) => Promise<void>;
}

export async function mtree(options: MtreeOptions): Promise<void> {
  const decoder = new CatarDecoder(options.source);
  const formatter = new MtreeFormatter();
  await options.print("#mtree v1.0\n");
  await options.feed(async (bytes) => {
    const lines = formatter.lines(decoder.push(bytes));
    if (lines.length) await options.print(lines.join("\n") + "\n");
  });
  decoder.end();
}
