/** `pulpdist validate --format json`: `{ok, files, documents, problems: [{file, line, column, severity, message, rule}]}`. */
import type { LoadResult } from '../../spec/types.js';

export function formatJson(result: LoadResult): string {
  const out = {
    ok: !result.problems.some((p) => p.severity === 'error'),
    files: result.files,
    documents: result.documents,
    // Fixed key order, whatever order the loader built the objects in.
    problems: result.problems.map((p) => ({ file: p.file, line: p.line, column: p.column, severity: p.severity, message: p.message, rule: p.rule })),
  };
  return JSON.stringify(out, null, 2) + '\n';
}
