/**
 * The command-line parser: commander's API and behaviour as far as this
 * program uses them, in plain TypeScript, so that starting up loads no npm
 * package and no Node compatibility layer.
 */
export { Command, type OptionValues, type OutputConfiguration } from "./command.ts";
export { Option } from "./option.ts";
export { Argument } from "./argument.ts";
export { Help } from "./help.ts";
export { CommanderError } from "./errors.ts";
