/**
 * "Did you mean …?" for a mistyped option or command: the known names closest
 * to what was typed, by edit distance counting a swap of neighbours as one edit.
 */

/** Names more than this many edits away are no guess. */
const MAX_EDITS = 3;
/** Nor are names that share no more than this share of their letters with the word. */
const MIN_SIMILARITY = 0.4;

/** Edits (insert, delete, replace, swap two neighbours) from `a` to `b`, no letter edited twice. */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const replace = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, replace);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j], before[j - 2] + 1);
      }
    }
    before = previous;
    previous = row;
  }
  return previous[b.length];
}

/**
 * The suggestion to append to an error about `word` ("\n(Did you mean X?)" or
 * "\n(Did you mean one of X, Y?)"), or "" when no candidate is close. Options
 * (`--name`) are compared without their dashes; command names as they are,
 * even one typed with dashes (`desync -- --verify`).
 */
export function suggestSimilar(
  word: string,
  candidates: readonly string[],
  kind: "option" | "command",
): string {
  const options = kind === "option";
  const strip = (name: string) => options ? name.slice(2) : name;
  const typed = strip(word);
  let best = MAX_EDITS;
  let closest: string[] = [];
  for (const candidate of new Set(candidates.map(strip))) {
    // A length that differs by more edits than allowed needs no distance (a long word is costly).
    if (candidate.length < 2 || Math.abs(candidate.length - typed.length) > MAX_EDITS) continue;
    const distance = editDistance(typed, candidate);
    const length = Math.max(typed.length, candidate.length);
    if (distance > best || (length - distance) / length <= MIN_SIMILARITY) continue;
    if (distance < best) closest = [];
    best = distance;
    closest.push(candidate);
  }
  const names = closest.sort((a, b) => a.localeCompare(b)).map((name) =>
    options ? `--${name}` : name
  );
  if (names.length === 0) return "";
  return names.length === 1
    ? `\n(Did you mean ${names[0]}?)`
    : `\n(Did you mean one of ${names.join(", ")}?)`;
}
