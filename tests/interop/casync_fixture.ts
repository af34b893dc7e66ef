/** Blobs and stores made by the real casync, for interop tests. */
import { mustRun, pseudoRandomFast, which } from "../helpers.ts";

export interface BlobCase {
  name: string;
  size: number;
  kind: "random" | "zeros";
  digest?: "sha256";
  chunkSize?: string;
}

/** The cases the foundation issue asks for. */
export const BLOB_CASES: BlobCase[] = [
  { name: "random-1MiB", size: 1 << 20, kind: "random" },
  { name: "random-64MiB", size: 64 << 20, kind: "random" },
  { name: "below-min", size: 5000, kind: "random" },
  { name: "empty", size: 0, kind: "random" },
  { name: "zeros-16MiB", size: 16 << 20, kind: "zeros" },
  { name: "random-1MiB-sha256", size: 1 << 20, kind: "random", digest: "sha256" },
];

export const CASYNC_MISSING = which("casync")
  ? false
  : "casync is not installed (apt-get install casync)";

export function blobBytes(blobCase: BlobCase, seed = 7): Uint8Array {
  return blobCase.kind === "zeros"
    ? new Uint8Array(blobCase.size)
    : pseudoRandomFast(blobCase.size, seed);
}

export interface CasyncFixture {
  blob: string;
  index: string;
  store: string;
}

/** Writes the blob and has casync make its index and store under `dir`. */
export async function casyncMake(dir: string, blobCase: BlobCase): Promise<CasyncFixture> {
  const blob = `${dir}/${blobCase.name}.blob`;
  const index = `${dir}/${blobCase.name}.caibx`;
  const store = `${dir}/${blobCase.name}.store`;
  await Deno.writeFile(blob, blobBytes(blobCase));
  const args = ["make", `--store=${store}`];
  if (blobCase.digest) args.push(`--digest=${blobCase.digest}`);
  if (blobCase.chunkSize) args.push(`--chunk-size=${blobCase.chunkSize}`);
  await mustRun("casync", [...args, index, blob]);
  await Deno.mkdir(store, { recursive: true }); // casync makes none for an empty blob
  return { blob, index, store };
}

/** The chunk IDs casync wrote into a store directory (from its file names). */
export function storeIds(store: string): string[] {
  const ids: string[] = [];
  for (const prefix of Deno.readDirSync(store)) {
    if (!prefix.isDirectory) continue;
    for (const file of Deno.readDirSync(`${store}/${prefix.name}`)) {
      if (file.name.endsWith(".cacnk")) ids.push(file.name.slice(0, -6));
    }
  }
  return ids.sort();
}
