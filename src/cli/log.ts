/** Lines on stderr besides errors: `--verbose` notes and warnings, each starting "desync:". */

let verboseOn = false;
const warned = new Set<string>();

export function setVerbose(on: boolean) {
  verboseOn = on;
}

/** A note for `--verbose`: what is read, opened and done. */
export function verbose(message: string) {
  if (verboseOn) console.error(`desync: ${message}`);
}

/** A warning, printed once per process however often it is raised. */
export function warnOnce(message: string) {
  if (warned.has(message)) return;
  warned.add(message);
  console.error(`desync: warning: ${message}`);
}
