/**
 * `pulpdist validate --format codequality`: a GitLab Code Quality report, so that merge requests
 * show spec problems inline. The fingerprint is stable across pipelines (rule, file and message,
 * not the line, so that an edit above a problem does not make it "new").
 */
import { createHash } from 'node:crypto';
import type { LoadResult, Severity } from '../../spec/types.js';

export interface CodeQualityIssue {
  description: string;
  check_name: string;
  fingerprint: string;
  severity: 'info' | 'minor' | 'major' | 'critical' | 'blocker';
  location: { path: string; lines: { begin: number } };
}

const SEVERITY: Record<Severity, CodeQualityIssue['severity']> = { error: 'major', warning: 'minor' };

export function codeQualityIssues(result: LoadResult): CodeQualityIssue[] {
  const counts = new Map<string, number>();
  return result.problems.map((p) => {
    const basis = `${p.rule}\u0000${p.file}\u0000${p.message}`;
    // GitLab merges issues with one fingerprint; the n-th identical problem in a file gets its own.
    const n = counts.get(basis) ?? 0;
    counts.set(basis, n + 1);
    const fingerprint = createHash('sha256').update(n === 0 ? basis : `${basis}\u0000${n}`).digest('hex');
    return { description: p.message, check_name: p.rule, fingerprint, severity: SEVERITY[p.severity], location: { path: p.file, lines: { begin: p.line } } };
  });
}

export function formatCodeQuality(result: LoadResult): string {
  return JSON.stringify(codeQualityIssues(result), null, 2) + '\n';
}
