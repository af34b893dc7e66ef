/**
 * How the parser stops: every usage error, help and --version ends in a
 * CommanderError (the name commander gave it, kept so callers need not change)
 * carrying the exit code and a code naming what happened.
 */

/** What stopped the parse, as commander names it (callers and tests match on these). */
export type ParseCode =
  | "commander.error"
  | "commander.help"
  | "commander.helpDisplayed"
  | "commander.version"
  | "commander.unknownOption"
  | "commander.unknownCommand"
  | "commander.missingArgument"
  | "commander.optionMissingArgument"
  | "commander.missingMandatoryOptionValue"
  | "commander.invalidArgument"
  | "commander.excessArguments";

export class CommanderError extends Error {
  /** 0 for help and --version; 1 for a usage error. */
  readonly exitCode: number;
  readonly code: ParseCode;

  constructor(exitCode: number, code: ParseCode, message: string) {
    super(message);
    this.name = "CommanderError";
    this.exitCode = exitCode;
    this.code = code;
  }
}

/**
 * Thrown by a value parser (an option's or argument's choices) to have the
 * parser report the value as invalid, with this message after its own words.
 */
export class InvalidArgumentError extends CommanderError {
  constructor(message: string) {
    super(1, "commander.invalidArgument", message);
    this.name = "InvalidArgumentError";
  }
}
