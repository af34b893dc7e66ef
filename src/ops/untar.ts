/**
 * untar: unpack a casync archive into a directory, streaming: the archive is
 * read once, in order, and each entry is written as it arrives.
 *
 * Nothing is written outside the target. The decoder lets through only names
 * that are one path component, each at most once per directory; every path is
 * built from those names below the target, and a directory entry never reuses
 * anything at its place that is not a real directory (a symlink there is
 * replaced, not followed). Files, links and nodes are made under a temporary
 * name and renamed into place when complete. A target that does not exist yet
 * is built under a temporary name beside it and renamed when the whole archive
 * is in; on failure it is removed. Extended attributes and capabilities are
 * restored; ACLs, SELinux labels and chattr(1) flags are not.
 *
 * What can be made depends on the file-system access (util/tree_fs.ts): with
 * Deno alone, times are set to the millisecond, and an entry that needs the C
 * library (a device node, FIFO or socket, extended attributes or capabilities,
 * a symlink target that is not UTF-8) fails naming it and --allow-ffi, rather
 * than being left out or left bare. There, in a new tree, the codec lanes make
 * the small files that need nothing but a mode and a time (untar_lanes.ts).
 */
import { DesyncError } from "../errors.ts";
import {
  FCAPS_XATTR,
  S_IFDIR,
  S_IFMT,
  timeGranularityNs,
  WITH_16BIT_UIDS,
  WITH_32BIT_UIDS,
  WITH_ACL,
  WITH_PERMISSIONS,
  WITH_USER_NAMES,
  WITH_XATTRS,
} from "../format/catar.ts";
import { type ArchiveEvent, type ArchiveNode, CatarDecoder } from "../format/catar_decoder.ts";
import { describeFsError, tempName } from "../util/fs.ts";
import { onForcedExit } from "../util/shutdown.ts";
import { ENOENT, type FileStat, SystemCallError } from "../util/posix.ts";
import { denoTimeOf, selectTreeFs, type TreeFs } from "../util/tree_fs.ts";
import type { UserDb } from "../util/user_db.ts";
import type { CodecPool } from "../chunk/codec_pool.ts";
import { LANE_FILE_MAX, LaneFiles } from "./untar_lanes.ts";

export interface UntarOptions {
  /** The directory to unpack into; created when missing. */
  target: string;
  /** Names the archive in messages. */
  source: string;
  /**
   * Calls `push` with the archive's bytes in order and resolves when they are
   * all pushed. `push` is done with the bytes when it resolves.
   */
  feed: (push: (bytes: Uint8Array) => Promise<void>) => Promise<void>;
  /** Set owners from the archive (default: when running as root). */
  sameOwner?: boolean;
  /** Set modes exactly as archived, setuid/setgid/sticky included (default true). */
  samePermissions?: boolean;
  users?: UserDb;
  /** How the tree is written (default: the C library when FFI is granted, else Deno alone). */
  fs?: TreeFs;
  /**
   * The lanes that may make the small files of a new tree written by Deno alone
   * (see untar_lanes.ts), asked for only then (they may start workers);
   * without them every file is made on this thread.
   */
  lanes?: () => CodecPool;
  signal?: AbortSignal;
}

export interface UntarStats {
  entries: number;
  bytes: number;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * How long applying a push may keep the event loop waiting: a push can hold
 * thousands of entries (seconds of work), and meanwhile no stop signal is seen
 * and no lane's reply comes in (see untar_lanes.ts: the lanes would sit idle).
 * Shorter slices keep the lanes busier, but each turn costs a few milliseconds,
 * and V8 then grows the heap more (10 ms: 10-30 MB more at the peak for 200 000
 * entries).
 */
const SLICE_MS = 50;

/** How messages name the entries only the C library can make. */
const KIND_NAMES: Partial<Record<ArchiveNode["kind"], string>> = {
  device: "a device node",
  fifo: "a FIFO",
  socket: "a socket",
};

export async function untar(options: UntarOptions): Promise<UntarStats> {
  const target = options.target.length > 1 ? options.target.replace(/\/+$/, "") : options.target;
  let existing = false;
  try {
    const info = await Deno.stat(target);
    if (!info.isDirectory) throw new DesyncError(`${target}: exists and is not a directory`);
    existing = true;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      if (error instanceof DesyncError) throw error;
      throw new DesyncError(`${target}: ${describeFsError(error)}`, { cause: error });
    }
  }
  const root = existing ? target : tempName(target);
  if (!existing) {
    try {
      await Deno.mkdir(root, { mode: 0o700 });
    } catch (error) {
      throw new DesyncError(`${target}: cannot create: ${describeFsError(error)}`, {
        cause: error,
      });
    }
  }
  const decoder = new CatarDecoder(options.source);
  let writer: TreeWriter | undefined;
  let placed = false;
  const abandon = () => {
    writer?.abandon();
    if (!existing && !placed) removeTree(root);
  };
  // A second stop signal exits without unwinding: the half-made tree goes then too.
  using _cleanup = onForcedExit(abandon);
  try {
    // Made here: making it probes the new tree, and a failure then must remove the tree too.
    writer = new TreeWriter(root, target, !existing, options);
    const tree = writer;
    await options.feed(async (bytes) => {
      options.signal?.throwIfAborted();
      const events = decoder.push(bytes);
      for (let at = tree.apply(events, 0); at < events.length; at = tree.apply(events, at)) {
        // A timer, not setImmediate: that can leave signals unseen for dozens of turns.
        await new Promise((resolve) => setTimeout(resolve, 0));
        options.signal?.throwIfAborted();
      }
    });
    decoder.end();
    await tree.finish();
    // Stopped while the lanes made their last files: not put in place.
    options.signal?.throwIfAborted();
    if (!existing) rename(root, target, target);
    placed = true;
  } catch (error) {
    // The lanes' files are made before their tree is removed.
    await writer?.settle();
    abandon();
    throw error;
  }
  return { entries: writer.entries, bytes: decoder.offset };
}

/**
 * Removes a half-made tree. Directories already given a read-only mode are made
 * writable first, or a user other than root could not empty them. Synchronous,
 * so that it can run as the process is made to exit.
 */
function removeTree(root: string) {
  try {
    Deno.removeSync(root, { recursive: true });
    return;
  } catch {
    // below
  }
  const unlock = (path: string) => {
    try {
      if (!Deno.lstatSync(path).isDirectory) return;
      Deno.chmodSync(path, 0o700);
      for (const entry of Deno.readDirSync(path)) unlock(`${path}/${entry.name}`);
    } catch {
      // what cannot be unlocked stays
    }
  };
  unlock(root);
  try {
    Deno.removeSync(root, { recursive: true });
  } catch {
    // what cannot be removed stays
  }
}

function rename(from: string, to: string, shown: string) {
  try {
    Deno.renameSync(from, to);
  } catch (error) {
    throw new DesyncError(`${shown}: cannot put in place: ${describeFsError(error)}`, {
      cause: error,
    });
  }
}

/** What is known of a file just written: from its stat, or from how it was made. */
type Made = Pick<Deno.FileInfo, "uid" | "gid" | "mode" | "atime">;

/**
 * The owner and permission mask of what is made in `dir`, from a directory and a
 * file made there with all permission bits (and removed): the umask, or a
 * default ACL, takes from them what it takes from every entry made below. Where
 * the two differ (vfat's fmask and dmask, ACLs inherited by files or
 * directories only), undefined: nothing is predicted, each file is stat'ed.
 */
export function newEntryMode(dir: string): { uid: number; gid: number; mask: number } | undefined {
  const probe = tempName(`${dir}/probe`);
  Deno.mkdirSync(probe, { mode: 0o777 });
  try {
    // Made as #begin makes files: writeFileSync would chmod it to the mode, past the mask.
    Deno.openSync(`${probe}/file`, { write: true, createNew: true, mode: 0o777 }).close();
    const made = [Deno.lstatSync(probe), Deno.lstatSync(`${probe}/file`)];
    const [folder, file] = made;
    if (made.some((info) => info.uid === null || info.gid === null || info.mode === null)) {
      throw new DesyncError(`${dir}: Deno reports no owner or mode for what it makes`);
    }
    if (
      folder.uid !== file.uid || folder.gid !== file.gid ||
      (folder.mode! & 0o777) !== (file.mode! & 0o777)
    ) {
      return undefined;
    }
    return { uid: folder.uid!, gid: folder.gid!, mask: folder.mode! & 0o777 };
  } finally {
    Deno.removeSync(probe, { recursive: true });
  }
}

/** Applies archive events to the file system below `root`. */
class TreeWriter {
  entries = 0;
  readonly #root: string;
  readonly #shownRoot: string;
  /** Whether the root is ours alone (a new directory), so entries can be made in place. */
  readonly #fresh: boolean;
  readonly #sameOwner: boolean;
  readonly #samePermissions: boolean;
  readonly #umask: number;
  /**
   * In a tree of our own, what every file made in it gets: its owner, and the
   * permission bits the umask or a default ACL leave of those it asks for,
   * learned once from a directory made at the start. A file's stat is then not
   * asked: through Deno it costs a permission check of the path, which resolves
   * it component by component (a readlink each).
   */
  readonly #made?: { uid: number; gid: number; mask: number };
  readonly #users?: UserDb;
  readonly #fs: TreeFs;
  /** Real paths of the open directories, by depth. */
  readonly #dirs: string[] = [];
  /** The file being written: its handle, where it is written, where it goes. */
  #file: { handle: Deno.FsFile; path: string; final: string; shown: string } | undefined;
  /** Where small files of a new tree are made, when lanes are given. */
  readonly #lanes?: LaneFiles;
  /** Whether the file being written is the lanes' to make. */
  #inLanes = false;
  /**
   * By depth, the open directories' last batch of lane files below them (0:
   * none), which their metadata waits for.
   */
  readonly #laneBatches: number[] = [];

  constructor(root: string, shownRoot: string, fresh: boolean, options: UntarOptions) {
    this.#root = root;
    this.#shownRoot = shownRoot;
    this.#fresh = fresh;
    this.#fs = options.fs ?? selectTreeFs();
    const identity = this.#guard(shownRoot, "create", () => this.#fs.identity(root));
    this.#sameOwner = options.sameOwner ?? identity.uid === 0;
    this.#samePermissions = options.samePermissions ?? true;
    this.#umask = identity.umask;
    this.#users = options.users;
    if (fresh) this.#made = this.#guard(shownRoot, "create", () => newEntryMode(root));
    // Lanes set times to the millisecond, through Deno, as denoTreeFs does.
    if (this.#made && options.lanes && this.#fs.kind === "deno") {
      this.#lanes = new LaneFiles(options.lanes());
    }
  }

  /**
   * Applies `events` from `from` until they are done or SLICE_MS have passed;
   * returns where it stopped. Synchronous, as every call it makes: an awaited
   * step per node cost three promises a file, and their garbage, for nothing
   * to wait for.
   */
  apply(events: ArchiveEvent[], from: number): number {
    this.#lanes?.check();
    const until = performance.now() + SLICE_MS;
    for (let at = from; at < events.length;) {
      const event = events[at++];
      if (event.type === "data") this.#write(event.bytes);
      else if (event.type === "node") this.#begin(event.node);
      else this.#end(event.node);
      if (at % 64 === 0 && performance.now() > until) return at;
    }
    return events.length;
  }

  /** Waits until the lanes have made every file and directories' metadata is set. */
  async finish(): Promise<void> {
    await this.#lanes?.finish();
  }

  /** Waits for the lanes' files, after a failure, before the tree is removed. */
  async settle(): Promise<void> {
    await this.#lanes?.settle();
  }

  /** Closes a file left open by a failure (its temporary is removed with the tree or here). */
  abandon() {
    if (!this.#file) return;
    this.#file.handle.close();
    if (this.#file.path !== this.#file.final) {
      try {
        Deno.removeSync(this.#file.path);
      } catch {
        // already gone
      }
    }
    this.#file = undefined;
  }

  #pathOf(node: ArchiveNode): string {
    if (node.depth === 0) return this.#root;
    let name: string;
    try {
      name = strictUtf8.decode(node.name);
    } catch {
      // A valid name (casync makes it); Deno's file-system calls take only UTF-8 paths.
      throw new DesyncError(
        `${this.#shown(node)}: cannot create: its name is not UTF-8, which Deno cannot pass ` +
          "to the file system",
      );
    }
    return `${this.#dirs[node.depth - 1]}/${name}`;
  }

  /** How an entry appears in messages: below the target as the user named it. */
  #shown(node: ArchiveNode): string {
    return node.depth === 0 ? this.#shownRoot : `${this.#shownRoot}/${node.path}`;
  }

  #begin(node: ArchiveNode) {
    this.entries++;
    const path = this.#pathOf(node);
    const shown = this.#shown(node);
    this.#checkCapabilities(node, shown);
    if (node.kind === "directory") {
      if (node.depth > 0) this.#makeDirectory(path, shown);
      this.#dirs[node.depth] = path;
      this.#laneBatches[node.depth] = 0;
      return;
    }
    // While the lanes are busy, this thread makes files too, as it would otherwise wait.
    if (node.kind === "file" && this.#lanes && !this.#lanes.busy() && this.#laneMayMake(node)) {
      const timed = timeGranularityNs(node.entry.featureFlags) !== undefined;
      const mtimeMs = timed ? denoTimeOf(node.entry.mtimeNs).getTime() : NaN;
      const mode = node.entry.mode & 0o777;
      // Numbered in order: the last batch is the highest.
      this.#laneBatches[node.depth - 1] = this.#lanes.begin(path, shown, mode, mtimeMs, node.size);
      this.#inLanes = true;
      return;
    }
    // Everything else is made where nothing else can be (a fresh tree, or a
    // temporary name) and renamed over whatever the target held at its place.
    const temp = this.#fresh ? path : tempName(path);
    const fs = this.#fs;
    this.#guard(shown, "create", () => {
      switch (node.kind) {
        case "file":
          this.#file = {
            // With its permission bits already (the umask aside), so that most
            // files need no chmod; it is written through this descriptor anyway.
            handle: Deno.openSync(temp, {
              write: true,
              createNew: true,
              mode: node.entry.mode & 0o777,
            }),
            path: temp,
            final: path,
            shown,
          };
          return;
        case "symlink":
          fs.makeSymlink(node.target!, temp);
          return;
        case "device":
          fs.makeNode!(temp, (node.entry.mode & S_IFMT) | 0o600, node.major, node.minor);
          return;
        default:
          fs.makeNode!(temp, (node.entry.mode & S_IFMT) | 0o600);
      }
    });
    if (node.kind !== "file") this.#finish(node, temp, path, shown);
  }

  #write(bytes: Uint8Array) {
    if (this.#inLanes) return this.#lanes!.write(bytes);
    const file = this.#file!;
    let done = 0;
    try {
      while (done < bytes.length) done += file.handle.writeSync(bytes.subarray(done));
    } catch (error) {
      throw new DesyncError(`${file.shown}: cannot write: ${describeFsError(error)}`, {
        cause: error,
      });
    }
  }

  #end(node: ArchiveNode) {
    if (node.kind === "directory") {
      const path = this.#dirs[node.depth];
      const shown = this.#shown(node);
      if (!this.#lanes) return this.#metadata(node, path, shown);
      // Its mode and time once the lanes have made the files below it (a mode
      // without write or search access would stop them; a file made would change
      // its time).
      const batch = this.#laneBatches[node.depth];
      if (node.depth > 0) {
        this.#laneBatches[node.depth - 1] = Math.max(this.#laneBatches[node.depth - 1], batch);
      }
      this.#lanes.after(batch, () => this.#metadata(node, path, shown));
      return;
    }
    if (node.kind !== "file") return;
    if (this.#inLanes) {
      this.#inLanes = false;
      this.#lanes!.end();
      return;
    }
    const file = this.#file!;
    this.#file = undefined;
    const shown = this.#shown(node);
    let current: Made;
    // Its time can be set now, through the descriptor: owner, mode and attributes,
    // set after it, leave the modification time as it is.
    const setTime = timeGranularityNs(node.entry.featureFlags) !== undefined &&
      this.#fs.setOpenFileModificationTime;
    try {
      const made = this.#made;
      // Nothing but us writes in a tree of our own: the new file is as it was made.
      current = made
        ? { uid: made.uid, gid: made.gid, mode: node.entry.mode & 0o777 & made.mask, atime: null }
        : file.handle.statSync();
      if (setTime) {
        this.#guard(shown, "set the time", () => setTime(file.handle, current, node.entry.mtimeNs));
      }
    } catch (error) {
      this.#file = file;
      this.abandon(); // closes it, and removes a temporary name
      throw error;
    }
    file.handle.close();
    this.#finish(node, file.path, file.final, shown, current, !setTime);
  }

  /** Sets a node's metadata and moves it from its temporary name into place. */
  #finish(
    node: ArchiveNode,
    temp: string,
    path: string,
    shown: string,
    current?: Made,
    setTime = true,
  ) {
    try {
      this.#metadata(node, temp, shown, current, setTime);
      if (temp !== path) rename(temp, path, shown);
    } catch (error) {
      if (temp !== path) {
        try {
          Deno.removeSync(temp);
        } catch {
          // already gone
        }
      }
      throw error;
    }
  }

  /**
   * Fails, before anything of it is made, on an entry that needs what this
   * file-system access lacks (Deno alone: nodes, attributes).
   */
  #checkCapabilities(node: ArchiveNode, shown: string) {
    const kind = KIND_NAMES[node.kind];
    if (kind && !this.#fs.makeNode) {
      throw new DesyncError(
        `${shown}: cannot create ${kind} without --allow-ffi ` +
          "(Deno's own API makes no device nodes, FIFOs or sockets)",
      );
    }
    const xattrs = node.entry.featureFlags & WITH_XATTRS && node.xattrs.length > 0;
    if ((xattrs || node.fcaps) && !this.#fs.xattrs) {
      const what = xattrs ? "extended attributes" : "file capabilities";
      throw new DesyncError(`${shown}: cannot restore its ${what} without --allow-ffi`);
    }
  }

  /**
   * A directory for an entry: an existing real directory is kept (its contents
   * merge); anything else at that place (a file, a symlink) is removed first,
   * so no path below ever resolves through it.
   */
  #makeDirectory(path: string, shown: string) {
    if (!this.#fresh) {
      let info: FileStat | undefined;
      try {
        info = this.#fs.stat(path);
      } catch (error) {
        if (!(error instanceof SystemCallError && error.errno === ENOENT)) {
          throw new DesyncError(`${shown}: ${(error as Error).message}`, { cause: error });
        }
      }
      if (info && (info.mode & S_IFMT) === S_IFDIR) {
        // Writable for us while its entries go in; its own mode is set at its end.
        this.#guard(
          shown,
          "make writable",
          () => Deno.chmodSync(path, 0o700 | (info.mode & 0o777)),
        );
        return;
      }
      if (info) this.#guard(shown, "replace", () => Deno.removeSync(path));
    }
    this.#guard(shown, "create the directory", () => Deno.mkdirSync(path, { mode: 0o700 }));
  }

  /**
   * Owner, then mode (a chown clears setuid bits), attributes and capabilities (a
   * chown clears those too), then time, as casync orders them. With the stat of
   * a file just written (`current`), an owner or mode it already has is not set
   * again, as casync does.
   */
  #metadata(
    node: ArchiveNode,
    path: string,
    shown: string,
    current?: Made,
    setTime = true,
  ) {
    const { entry } = node;
    const flags = entry.featureFlags;
    let chowned = false;
    const owner = this.#wantedOwner(node);
    if (owner && (current?.uid !== owner.uid || current?.gid !== owner.gid)) {
      this.#guard(shown, "set the owner", () => this.#fs.changeOwner(path, owner.uid, owner.gid));
      chowned = true;
    }
    if (node.kind !== "symlink") {
      const mode = this.#wantedMode(node);
      if (chowned || current?.mode === null || ((current?.mode ?? -1) & 0o7777) !== mode) {
        this.#guard(shown, "set the mode", () => Deno.chmodSync(path, mode));
      }
    }
    for (const { name, value } of flags & WITH_XATTRS ? node.xattrs : []) {
      this.#guard(
        shown,
        "set an extended attribute",
        () => this.#fs.xattrs!.set(path, name, value),
      );
    }
    if (node.fcaps) {
      this.#guard(
        shown,
        "set the capabilities",
        () => this.#fs.xattrs!.set(path, FCAPS_XATTR, node.fcaps!),
      );
    }
    if (setTime && timeGranularityNs(flags) !== undefined) {
      this.#guard(shown, "set the time", () => this.#fs.setModificationTime(path, entry.mtimeNs));
    }
  }

  /** The owner to give a node, when owners are restored and the archive has them. */
  #wantedOwner(node: ArchiveNode): { uid: number; gid: number } | undefined {
    const { entry } = node;
    if (
      !this.#sameOwner ||
      !(entry.featureFlags & (WITH_16BIT_UIDS | WITH_32BIT_UIDS | WITH_USER_NAMES))
    ) {
      return undefined;
    }
    return {
      uid: (node.user !== undefined ? this.#users?.uid(node.user) : undefined) ?? entry.uid,
      gid: (node.group !== undefined ? this.#users?.gid(node.group) : undefined) ?? entry.gid,
    };
  }

  /** The permission bits (setuid, setgid, sticky included) to give a node. */
  #wantedMode(node: ArchiveNode): number {
    const { mode, featureFlags } = node.entry;
    const keep = (featureFlags & (WITH_PERMISSIONS | WITH_ACL)) && this.#samePermissions;
    return mode & (keep ? 0o7777 : 0o7777 & ~this.#umask & 0o777);
  }

  /**
   * Whether a file needs nothing but to be made, written and given its time:
   * made with its mode (the mask aside) and owned as it must be, with no
   * attributes. Only those go to the lanes; the rest is set here, in order.
   */
  #laneMayMake(node: ArchiveNode): boolean {
    const made = this.#made!;
    if (node.size > LANE_FILE_MAX || node.fcaps) return false;
    if (node.entry.featureFlags & WITH_XATTRS && node.xattrs.length > 0) return false;
    const owner = this.#wantedOwner(node);
    if (owner && (owner.uid !== made.uid || owner.gid !== made.gid)) return false;
    return this.#wantedMode(node) === (node.entry.mode & 0o777 & made.mask);
  }

  /** Runs `action`, turning its failure into one line naming the entry and the operation. */
  #guard<T>(shown: string, operation: string, action: () => T): T {
    try {
      return action();
    } catch (error) {
      if (error instanceof DesyncError) throw error;
      const reason = error instanceof SystemCallError ? error.reason : describeFsError(error);
      throw new DesyncError(`${shown}: cannot ${operation}: ${reason}`, { cause: error });
    }
  }
}
