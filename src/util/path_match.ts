/**
 * Shell-style patterns with the semantics of Go's `filepath.Match` on Unix, so
 * a config file's location globs select the same stores here as in Go desync:
 * `*` is any run of characters but `/`, `?` one character but `/`, `[a-z]` and
 * `[^a-z]` classes, and `\` escapes the next character.
 */

/** A pattern that is not well formed (an unclosed class, a trailing `\`). */
export class BadPattern extends Error {}

type Token =
  | { kind: "star" }
  | { kind: "any" }
  | { kind: "char"; char: string }
  | { kind: "class"; negated: boolean; ranges: [string, string][] };

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === "*") {
      tokens.push({ kind: "star" });
    } else if (c === "?") {
      tokens.push({ kind: "any" });
    } else if (c === "\\") {
      if (++i >= chars.length) throw new BadPattern("ends with an unescaped \\");
      tokens.push({ kind: "char", char: chars[i] });
    } else if (c === "[") {
      let j = i + 1;
      const negated = chars[j] === "^";
      if (negated) j++;
      const ranges: [string, string][] = [];
      // One class character; like Go, an unescaped `-` or `]` is an error here.
      const single = () => {
        if (j >= chars.length) throw new BadPattern("unclosed [");
        let char = chars[j];
        if (char === "-" || char === "]") throw new BadPattern(`unescaped ${char} in [ ]`);
        if (char === "\\") {
          if (++j >= chars.length) throw new BadPattern("unclosed [");
          char = chars[j];
        }
        j++;
        return char;
      };
      for (;;) {
        if (j >= chars.length) throw new BadPattern("unclosed [");
        if (chars[j] === "]" && ranges.length > 0) break;
        const lo = single();
        let hi = lo;
        if (chars[j] === "-") {
          j++;
          hi = single();
          if (hi < lo) throw new BadPattern(`bad range ${lo}-${hi}`);
        }
        ranges.push([lo, hi]);
      }
      tokens.push({ kind: "class", negated, ranges });
      i = j;
    } else {
      tokens.push({ kind: "char", char: c });
    }
  }
  return tokens;
}

function matchOne(token: Token, c: string): boolean {
  switch (token.kind) {
    case "any":
      return c !== "/";
    case "char":
      return token.char === c;
    case "class": {
      if (c === "/") return false;
      const inside = token.ranges.some(([lo, hi]) => lo <= c && c <= hi);
      return inside !== token.negated;
    }
    case "star":
      return false;
  }
}

/** Does `name` match `pattern` as a whole? Throws BadPattern for a malformed pattern. */
export function globMatch(pattern: string, name: string): boolean {
  const tokens = tokenize(pattern);
  const chars = [...name];
  // Classic backtracking over the last star; stars never cross a `/`.
  const match = (t: number, n: number): boolean => {
    for (; t < tokens.length; t++) {
      const token = tokens[t];
      if (token.kind === "star") {
        for (let end = n;; end++) {
          if (match(t + 1, end)) return true;
          if (end >= chars.length || chars[end] === "/") return false;
        }
      }
      if (n >= chars.length || !matchOne(token, chars[n])) return false;
      n++;
    }
    return n === chars.length;
  };
  return match(0, 0);
}
