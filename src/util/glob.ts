/**
 * Shell-style patterns for `tar --exclude`: `*` and `?` stop at "/", `**`
 * crosses it, `[abc]`/`[!a-z]` are classes. A pattern without "/" is tried on
 * each name at any depth; one with "/" on the whole path below the source
 * directory (a leading "/" anchors it there, which it is anyway).
 */

export type PathMatcher = (relativePath: string, name: string) => boolean;

function escape(char: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(char) ? `\\${char}` : char;
}

/** Translates one pattern to an anchored regular expression; throws on an unclosed class. */
export function globToRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        // "**/" may also match nothing, so "a/**/b" matches "a/b".
        if (pattern[i + 2] === "/") {
          out += "(?:.*/)?";
          i += 2;
        } else {
          out += ".*";
          i++;
        }
      } else {
        out += "[^/]*";
      }
    } else if (c === "?") {
      out += "[^/]";
    } else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close < 0) throw new SyntaxError(`unclosed "[" in pattern "${pattern}"`);
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      out += `[${negate ? "^/" : ""}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = close;
    } else if (c === "\\" && i + 1 < pattern.length) {
      out += escape(pattern[++i]);
    } else {
      out += escape(c);
    }
  }
  return new RegExp(`^${out}$`, "u");
}

/** A matcher that is true when any of `patterns` matches. */
export function pathMatcher(patterns: readonly string[]): PathMatcher | undefined {
  if (patterns.length === 0) return undefined;
  const byName: RegExp[] = [];
  const byPath: RegExp[] = [];
  for (const pattern of patterns) {
    const trimmed = pattern.replace(/\/+$/, "");
    if (trimmed.includes("/")) byPath.push(globToRegExp(trimmed.replace(/^\/+/, "")));
    else byName.push(globToRegExp(trimmed));
  }
  return (relativePath, name) =>
    byName.some((re) => re.test(name)) || byPath.some((re) => re.test(relativePath));
}
