/** Making sure the codec workers can start, and saying what to grant when they cannot. */

/** The workers cannot load (Deno's permissions) or one of them died. */
export class WorkerStartError extends Error {}

/**
 * Deno loads a worker's modules only with read permission for them, and a
 * worker that cannot load dies where no job hears of it: ask first, and say
 * what to grant.
 */
export function checkWorkersMayLoad() {
  const programDir = new URL("../", import.meta.url);
  if (programDir.protocol !== "file:") return;
  const path = decodeURIComponent(programDir.pathname);
  if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") {
    throw new WorkerStartError(
      `the codec workers cannot load: Deno needs --allow-read for ${path} (this program's directory)`,
    );
  }
}
