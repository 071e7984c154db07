/**
 * `--exclude GLOB` matching. picomatch is loaded only when there are patterns, so that a plain
 * rescan pays nothing for it.
 */

/** Tells whether a relative path (file or directory) is excluded. */
export type ExcludeMatcher = (relativePath: string) => boolean;

/** A matcher for the patterns, or undefined when there are none. Throws RangeError on a bad pattern. */
export async function compileExclude(patterns: readonly string[]): Promise<ExcludeMatcher | undefined> {
  if (patterns.length === 0) return undefined;
  for (const p of patterns) {
    if (p.trim() === '') throw new RangeError('an --exclude pattern is empty');
  }
  const { default: picomatch } = await import('picomatch');
  // basename: a pattern without `/` matches the last segment at any depth (like .gitignore);
  // dot: dotfiles are ordinary files in a mirrored tree.
  return picomatch(patterns.slice(), { dot: true, basename: true });
}
