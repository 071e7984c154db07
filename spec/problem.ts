/** Building and ordering `Problem`s: one place that decides how a message names its node. */
import { redact } from '../core/redact.js';
import { formatPath, locate } from './node-position.js';
import type { Anchor, PathSegment } from './node-position.js';
import type { SourceDocument } from './source-file.js';
import type { Problem, Severity } from './types.js';

/** A problem at a node of a document; the message gets the node's path as a prefix. */
export function problemAt(
  source: SourceDocument,
  path: readonly PathSegment[],
  rule: string,
  message: string,
  options: { anchor?: Anchor; severity?: Severity } = {},
): Problem {
  const { anchor = 'value', severity = 'error' } = options;
  const { line, column } = locate(source, path, anchor);
  const where = formatPath(path);
  // redact() is a second line of defence: no rule should quote a secret, but a URL with user info
  // quoted by mistake must still lose it.
  return { file: source.file, line, column, severity, rule, message: redact(where ? `${where}: ${message}` : message) };
}

/** Problems in file, line, column order, then by message, so that output never depends on walk order. */
export function sortProblems(problems: Problem[]): Problem[] {
  return problems.sort(
    (a, b) =>
      cmp(a.file, b.file) || a.line - b.line || a.column - b.column || cmp(a.severity, b.severity) || cmp(a.rule, b.rule) || cmp(a.message, b.message),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A value quoted in a message: JSON-style, shortened, so that a pasted novel stays one line. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const short = text.length > 60 ? text.slice(0, 57) + '…' : text;
  return JSON.stringify(short);
}
