/**
 * Typed errors. Each carries the file, store or chunk a user needs to act on,
 * and the process exit code the CLI maps it to (1 = operation failed, 2 = usage).
 */
export class DesyncError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad flag, argument or combination of them. */
export class UsageError extends DesyncError {
  override readonly exitCode = 2;
}

/** An index file that is not a well-formed casync index. */
export class IndexFormatError extends DesyncError {
  constructor(readonly file: string, readonly detail: string, options?: ErrorOptions) {
    super(`${file}: invalid index: ${detail}`, options);
  }
}

/** A chunk that none of the asked stores holds. */
export class ChunkMissing extends DesyncError {
  constructor(readonly id: string, readonly store?: string) {
    super(
      store ? `chunk ${id} missing from store ${store}` : `chunk ${id} missing from all stores`,
    );
  }
}

/** A chunk whose data does not decompress or does not hash to its ID. */
export class ChunkInvalid extends DesyncError {
  constructor(readonly id: string, readonly store: string, readonly detail: string) {
    super(`chunk ${id} in store ${store} is invalid: ${detail}`);
  }
}

/** A store that cannot be reached or answers with an error. */
export class StoreError extends DesyncError {
  constructor(readonly store: string, readonly detail: string, options?: ErrorOptions) {
    super(`store ${store}: ${detail}`, options);
  }
}

/** A blob that does not match its index (chop, verify-index). */
export class BlobMismatch extends DesyncError {}

/** The signals a command stops on, and the exit codes shells expect for them (128 + number). */
export const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

/** The command was stopped by a signal (Ctrl-C, `kill`, a closed terminal). */
export class Interrupted extends DesyncError {
  override readonly exitCode: number;
  constructor(readonly signal: StopSignal = "SIGINT") {
    super(signal === "SIGINT" ? "interrupted" : `interrupted (${signal})`);
    this.exitCode = STOP_SIGNALS[signal];
  }
}

/** A catar archive that is not well formed, or whose entries would land outside the target. */
export class ArchiveFormatError extends DesyncError {
  constructor(readonly file: string, readonly detail: string) {
    super(`${file}: invalid archive: ${detail}`);
  }
}

/** A configuration file that cannot be used: unreadable, not JSON, an unknown key, a bad value. */
export class ConfigError extends DesyncError {
  override readonly exitCode = 2;
  constructor(readonly file: string, readonly detail: string, options?: ErrorOptions) {
    super(`config ${file}: ${detail}`, options);
  }
}
