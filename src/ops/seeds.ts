/**
 * Seeds: files already on this machine whose chunks an extract can copy instead
 * of fetching. A seed is an index with its data file (`--seed v1.caibx`, Go
 * desync's `--seed v1.caibx:/data/v1`, every index under `--seed-dir`), a plain
 * file without an index (chunked on the fly with the target's chunk sizes, as
 * casync does), or the existing output itself.
 */
import { DesyncError, UsageError } from "../errors.ts";
import { digestOf, type Index, indexLength } from "../format/index.ts";
import { blobSize, describeFsError } from "../util/fs.ts";

export type SeedKind =
  /** An index and its data: chunk IDs known up front. */
  | "index"
  /** A file without a usable index: chunked with the target's parameters. */
  | "file"
  /** The existing output, used like a file seed. */
  | "output";

export interface Seed {
  /** How the user named it; used in every message about it. */
  readonly name: string;
  readonly kind: SeedKind;
  /** The file whose bytes are copied. */
  readonly dataPath: string;
  /** The data file's size. */
  readonly size: number;
  /** For index seeds: the seed's chunks. */
  readonly index?: Index;
}

/** What to do with an index seed whose data does not match it. */
export type InvalidSeedPolicy = "fail" | "skip" | "regenerate";

/** A seed that cannot be used as given. */
export class SeedError extends DesyncError {
  constructor(readonly seed: string, readonly detail: string, options?: ErrorOptions) {
    super(`seed ${seed}: ${detail}`, options);
  }
}

export interface SeedOptions {
  /** `--seed` values, in order. */
  seeds: readonly string[];
  /** `--seed-dir` values, in order. */
  seedDirs: readonly string[];
  /** The target's index: its digest and chunk sizes decide how seeds are read. */
  target: Index;
  /** The target index's file, skipped when found under a seed directory. */
  targetIndexPath?: string;
  /** The output file; used as a seed when `seedOutput` (and not in place). */
  output?: string;
  seedOutput?: boolean;
  /** In-place extraction: the output's own data is checked in place, never moved. */
  inPlace?: boolean;
  invalidSeeds?: InvalidSeedPolicy;
  readIndex: (location: string) => Promise<Index>;
}

const INDEX_SUFFIX = /\.cai[bd]x$/;
/** Go desync's `INDEX:DATA` form. */
const INDEX_AND_DATA = /^(.+\.cai[bd]x):(.+)$/;

/**
 * Resolves the seed options into seeds, in the order they are tried: the user's
 * seeds and seed directories, then the existing output. Seeds naming the same
 * data file twice are used once.
 */
export async function resolveSeeds(options: SeedOptions): Promise<Seed[]> {
  const seeds: Seed[] = [];
  const seen = new Set<string>();
  const output = options.output === undefined ? undefined : await usableFile(options.output);
  const outputId = output && identityOf(output);
  /** Whether data with this identity is to be opened as a seed (checked before any index is read). */
  const wanted = (name: string, identity: string, found = false): boolean => {
    if (seen.has(identity)) return false;
    seen.add(identity);
    if (options.inPlace && identity === outputId) {
      // One found under --seed-dir is merely not used; one named with --seed is a mistake.
      if (found) return false;
      throw new UsageError(
        `seed ${name}: its data is the output itself, which --in-place already reuses`,
      );
    }
    return true;
  };
  const add = (seed: Seed | undefined) => seed && seeds.push(seed);
  for (const value of options.seeds) {
    const { indexPath, dataPath } = await seedLocations(value);
    const data = await seedData(value, dataPath);
    if (!wanted(value, data.identity)) continue;
    add(await openSeed(value, indexPath, dataPath, data.size, options));
  }
  const targetId = options.targetIndexPath && options.targetIndexPath !== "-"
    ? await fileIdentity(options.targetIndexPath)
    : undefined;
  for (const dir of options.seedDirs) {
    for (const indexPath of await indexesUnder(dir)) {
      if (targetId !== undefined && await fileIdentity(indexPath) === targetId) continue;
      const dataPath = indexPath.replace(INDEX_SUFFIX, "");
      const info = await usableFile(dataPath);
      if (!info) continue; // an index without its data is no seed
      if (!wanted(indexPath, identityOf(info), true)) continue;
      const size = await sizeOf(indexPath, dataPath, info);
      add(await openSeed(indexPath, indexPath, dataPath, size, options));
    }
  }
  if (options.seedOutput && !options.inPlace && output && output.isFile && output.size > 0) {
    // Nobody asked for this seed: an output this user may replace but not read is merely not one.
    if (await readable(options.output!) && wanted(options.output!, outputId!)) {
      add({ name: options.output!, kind: "output", dataPath: options.output!, size: output.size });
    }
  }
  return seeds;
}

/** Where a `--seed` value's index (if any) and data are. */
async function seedLocations(value: string): Promise<{ indexPath?: string; dataPath: string }> {
  const pair = INDEX_AND_DATA.exec(value);
  if (pair) {
    return { indexPath: pair[1], dataPath: pair[2] };
  }
  if (INDEX_SUFFIX.test(value)) {
    if (/^https?:\/\//i.test(value)) {
      throw new UsageError(
        `seed ${value}: an index URL needs its local data file as INDEX:DATA`,
      );
    }
    return { indexPath: value, dataPath: value.replace(INDEX_SUFFIX, "") };
  }
  // A plain file: its index, when one lies next to it, saves chunking it.
  const beside = `${value}.caibx`;
  return { indexPath: await fileIdentity(beside) ? beside : undefined, dataPath: value };
}

/** A `--seed` value's data file: its identity and size, or a SeedError saying why not. */
async function seedData(
  seed: string,
  dataPath: string,
): Promise<{ identity: string; size: number }> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dataPath);
  } catch (error) {
    throw new SeedError(seed, `cannot read its data ${dataPath}: ${describeFsError(error)}`, {
      cause: error,
    });
  }
  if (!info.isFile && !info.isBlockDevice) {
    throw new SeedError(seed, `its data ${dataPath} is not a regular file or block device`);
  }
  return { identity: identityOf(info), size: await sizeOf(seed, dataPath, info) };
}

/** A data file's size: a block device's stat says 0, so it is measured. */
async function sizeOf(seed: string, path: string, info: Deno.FileInfo): Promise<number> {
  if (info.isFile) return info.size;
  try {
    return await blobSize(path);
  } catch (error) {
    throw new SeedError(seed, (error as Error).message, { cause: error });
  }
}

async function openSeed(
  name: string,
  indexPath: string | undefined,
  dataPath: string,
  size: number,
  options: SeedOptions,
): Promise<Seed | undefined> {
  const asFile: Seed = { name, kind: "file", dataPath, size };
  if (indexPath === undefined) return asFile;
  const index = await options.readIndex(indexPath);
  const { target } = options;
  if (
    digestOf(index) !== digestOf(target) || index.chunkSizeMin !== target.chunkSizeMin ||
    index.chunkSizeAvg !== target.chunkSizeAvg || index.chunkSizeMax !== target.chunkSizeMax
  ) {
    // Its chunk IDs could never match the target's: chunk its data the target's way instead.
    return asFile;
  }
  if (indexLength(index) !== size) {
    const detail = `its data ${dataPath} has ${size} bytes, its index describes ${
      indexLength(index)
    }`;
    switch (options.invalidSeeds ?? "fail") {
      case "fail":
        throw new SeedError(name, `${detail} (see --skip-invalid-seeds)`);
      case "skip":
        return undefined;
      case "regenerate":
        return asFile;
    }
  }
  return { name, kind: "index", dataPath, size, index };
}

/**
 * A key that is equal for two paths of the same file (links, `..`), or
 * undefined when the path is not a regular file or block device.
 */
export async function fileIdentity(path: string): Promise<string | undefined> {
  const info = await usableFile(path);
  return info && identityOf(info);
}

function identityOf(info: Deno.FileInfo): string {
  return `${info.dev}:${info.ino}`;
}

/** The stat of a regular file or block device at `path`; undefined for anything else or nothing. */
async function usableFile(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    const info = await Deno.stat(path);
    return info.isFile || info.isBlockDevice ? info : undefined;
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
      // Not readable here: not usable as a seed (what needs it says so in its own words).
      error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
    ) {
      return undefined;
    }
    throw new DesyncError(`${path}: cannot stat: ${describeFsError(error)}`, { cause: error });
  }
}

/** Whether the regular file at `path` can be opened for reading. */
async function readable(path: string): Promise<boolean> {
  try {
    (await Deno.open(path, { read: true })).close();
    return true;
  } catch {
    return false;
  }
}

/** Every `.caibx` below `dir`, in a stable order. */
async function indexesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string) => {
    const entries: Deno.DirEntry[] = [];
    try {
      for await (const entry of Deno.readDir(path)) entries.push(entry);
    } catch (error) {
      throw new UsageError(`--seed-dir ${path}: ${describeFsError(error)}`, { cause: error });
    }
    entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    for (const entry of entries) {
      const child = `${path.replace(/\/+$/, "")}/${entry.name}`;
      if (entry.isDirectory) await walk(child);
      else if (entry.name.endsWith(".caibx")) found.push(child);
    }
  };
  await walk(dir);
  return found;
}
