/**
 * `--exclude GLOB` matching. picomatch is loaded only when there are patterns, so that a plain
 * rescan pays nothing for it.
 */

import { excludePatternProblem } from '../core/exclude-pattern.js';
import { ScanOptionError } from './errors.js';

/** Tells whether a relative path (file or directory) is excluded. */
export type ExcludeMatcher = (relativePath: string) => boolean;

/**
 * A matcher for the patterns, or undefined when there are none. Like .gitignore: a pattern
 * without `/` matches a name at any depth; a pattern with `/` inside, or a leading `/`, matches
 * the path from the tree root; a trailing `/` is dropped (`cache/` excludes the directory `cache`
 * with everything below it, as `cache` does). Throws ScanOptionError on a pattern that
 * core/exclude-pattern.ts refuses (empty, negated, unbalanced brackets…).
 */
export async function compileExclude(patterns: readonly string[]): Promise<ExcludeMatcher | undefined> {
  if (patterns.length === 0) return undefined;
  const anyDepth: string[] = [];
  const fromRoot: string[] = [];
  for (const raw of patterns) {
    const problem = excludePatternProblem(raw);
    if (problem) throw new ScanOptionError('exclude', `the exclude pattern ${JSON.stringify(raw)} cannot be used: ${problem}`);
    let p = raw.replace(/^\.\//, '').replace(/\/+$/, '');
    const anchored = p.startsWith('/');
    p = p.replace(/^\/+/, '');
    (anchored || p.includes('/') ? fromRoot : anyDepth).push(p);
  }
  const { default: picomatch } = await import('picomatch');
  // dot: dotfiles are ordinary files in a mirrored tree.
  const matchers: ExcludeMatcher[] = [];
  if (anyDepth.length) matchers.push(picomatch(anyDepth, { dot: true, basename: true }));
  if (fromRoot.length) matchers.push(picomatch(fromRoot, { dot: true }));
  return matchers.length === 1 ? matchers[0] : (rel) => matchers.some((m) => m(rel));
}
