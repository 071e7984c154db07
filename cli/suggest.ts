/**
 * "Did you mean …?" for a mistyped command or option: the nearest known word by edit distance,
 * offered only when it is close enough to be a typo rather than a different word.
 */

/** Levenshtein distance (insert, delete, substitute; each costs 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * The known word nearest to `word`, or undefined when none is within a third of the word's length
 * (at least 1, at most 3 edits): `--spec` → `--specs`, but `--bogus` → nothing. A known word that
 * starts with the typed one (`--allow` → `--allow-mass-delete`) counts as near too. Ties go to
 * the first in `known`.
 */
export function nearest(word: string, known: readonly string[]): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: { w: string; d: number } | undefined;
  for (const w of known) {
    const d = editDistance(word, w);
    if (d <= limit && (!best || d < best.d)) best = { w, d };
  }
  if (best) return best.w;
  const prefixed = known.filter((w) => word.length >= 3 && w.startsWith(word));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}
