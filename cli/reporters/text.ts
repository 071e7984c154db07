/** `pulpdist validate` text output: one `FILE:LINE:COLUMN: severity: message` line per problem, then a summary. */
import type { LoadResult } from '../../spec/types.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The closing line: `ok: 4 files, 7 documents` or `3 problems (2 errors, 1 warning) in 4 files, 7 documents`. */
export function summaryLine(result: LoadResult): string {
  const where = `${plural(result.files, 'file')}, ${plural(result.documents, 'document')}`;
  const errors = result.problems.filter((p) => p.severity === 'error').length;
  const warnings = result.problems.length - errors;
  if (result.problems.length === 0) return `ok: ${where}`;
  return `${plural(result.problems.length, 'problem')} (${plural(errors, 'error')}, ${plural(warnings, 'warning')}) in ${where}`;
}

export function formatText(result: LoadResult): string {
  const lines = result.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.severity}: ${p.message}`);
  lines.push(summaryLine(result));
  return lines.join('\n') + '\n';
}
