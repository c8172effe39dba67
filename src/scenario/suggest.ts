/** "Did you mean ...?" suggestions by edit distance. */

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions (`dealy` -> `delay` = 1). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate nearest to `input`, when it is near enough to be a plausible typo:
 * one nearest candidate, at most max(2, a third of the input's length) edits, and fewer edits than the input has characters.
 */
export function closest(input: string, candidates: readonly string[], opts: { ignoreCase?: boolean; onTie?: 'first' | 'none' } = {}): string | undefined {
  const norm = (s: string) => (opts.ignoreCase ? s.toLowerCase() : s);
  const needle = norm(input);
  let best: string | undefined;
  let bestDistance = Infinity;
  let tie = false;
  for (const c of candidates) {
    const distance = editDistance(needle, norm(c));
    if (distance < bestDistance) {
      best = c;
      bestDistance = distance;
      tie = false;
    } else if (distance === bestDistance && norm(c) !== norm(best ?? '')) tie = true;
  }
  // Two equally near candidates (`h4`: h1, h2, h3?) give no suggestion, unless the list is ordered by preference.
  if (tie && opts.onTie !== 'first') return undefined;
  const limit = Math.max(2, Math.floor(input.length / 3));
  return best !== undefined && bestDistance <= limit && bestDistance < input.length ? best : undefined;
}

/** `a`, `b`, `c` as a readable list of code spans. */
export function listOf(values: readonly string[]): string {
  return values.map((v) => `\`${v}\``).join(', ');
}
