/** Loads an index from a file path, or from standard input when named `-`. */
import { DesyncError } from "../errors.ts";
import { decodeIndex, type Index } from "../format/index.ts";
import { describeFsError } from "../store/local.ts";

export async function readIndex(location: string): Promise<Index> {
  return decodeIndex(await readIndexBytes(location), location === "-" ? "<stdin>" : location);
}

async function readIndexBytes(location: string): Promise<Uint8Array> {
  if (location === "-") {
    return new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
  }
  try {
    return await Deno.readFile(location);
  } catch (error) {
    throw new DesyncError(`${location}: cannot read index: ${describeFsError(error)}`, {
      cause: error,
    });
  }
}
