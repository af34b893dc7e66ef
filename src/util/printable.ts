/** Showing text that comes from outside (names, a peer's words, request targets) safely. */

/** One character as \xHH: two upper-case hex digits, as nginx writes bytes in its access log. */
export function hexEscape(char: string): string {
  return `\\x${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;
}

/**
 * Text for our messages with its control characters (C0, DEL, C1) as \xHH: a
 * name or a peer's reason holding a newline or a terminal escape cannot forge a
 * line of output or drive the terminal. Other characters stay readable.
 */
export function escapeControls(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, hexEscape);
}
