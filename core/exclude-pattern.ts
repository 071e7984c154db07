/**
 * The checks an exclude pattern (`spec.exclude`, `pulpdist manifest --exclude`) must pass before
 * it is compiled. picomatch accepts nearly anything and turns a mistake into a pattern that
 * silently matches nothing (`{a,b` becomes /$^/), which in a mirror means publishing what the
 * user meant to leave out. Pure; shared by spec/ (validation with positions) and manifest/.
 */

/** Why a pattern cannot be used, or undefined when it can. */
export function excludePatternProblem(pattern: string): string | undefined {
  if (pattern.trim() === '' || /^[./]*$/.test(pattern)) return 'the pattern is empty';
  if (pattern.includes('\0')) return 'the pattern contains a NUL character';
  if (pattern.startsWith('!')) return 'negated patterns ("!…") are not supported: list only what to leave out';
  const body = pattern.replace(/^\.\//, '').replace(/^\/+/, '').replace(/\/+$/, '');
  for (const seg of body.split('/')) {
    if (seg === '') return 'the pattern has an empty segment ("//")';
    if (seg === '.' || seg === '..') return `the pattern has a "${seg}" segment: patterns match paths inside the tree, which have none`;
  }
  const open: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i += 1; // an escaped character is literal
      continue;
    }
    if (open.at(-1) === '[') {
      // Inside a character class everything is literal up to the closing bracket.
      if (c === ']' && pattern[i - 1] !== '[') open.pop();
      continue;
    }
    if (c === '[' || c === '{') open.push(c);
    else if (c === '}') {
      if (open.at(-1) !== '{') return `unbalanced "}" at character ${i + 1}`;
      open.pop();
    }
  }
  if (open.length > 0) return `unclosed "${open.at(-1)}"`;
  return undefined;
}
