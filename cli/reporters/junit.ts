/**
 * `pulpdist validate --format junit`: one testsuite per file, one testcase per document (named
 * `KIND/NAME`, or `FILE#INDEX` when the document does not say), errors as failures, warnings in
 * system-out. Problems that belong to no document (an unreadable file) get a testcase named after the file.
 */
import type { DocumentRef, LoadResult, Problem } from '../../spec/types.js';

/** XML 1.0 text: escaped, and without the control characters XML cannot carry at all. */
function xml(text: string): string {
  return text
    .replace(/[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

interface Case {
  name: string;
  file: string;
  line: number;
  problems: Problem[];
}

function line(p: Problem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.severity}: ${p.message}`;
}

/** Each problem to the document whose lines hold it (the last one starting at or before it). */
function casesOf(result: LoadResult): Map<string, Case[]> {
  const byFile = new Map<string, Case[]>();
  const docs = result.documentRefs ?? [];
  const files = [...new Set([...(result.fileNames ?? []), ...docs.map((d) => d.file), ...result.problems.map((p) => p.file)])].sort();
  for (const f of files) byFile.set(f, []);
  const docCase = new Map<DocumentRef, Case>();
  for (const d of docs) {
    const c: Case = { name: d.kind && d.name ? `${d.kind}/${d.name}` : `${d.file}#${d.index}`, file: d.file, line: d.line, problems: [] };
    docCase.set(d, c);
    byFile.get(d.file)?.push(c);
  }
  const docsOf = new Map<string, DocumentRef[]>();
  for (const d of docs) {
    const list = docsOf.get(d.file);
    if (list) list.push(d);
    else docsOf.set(d.file, [d]);
  }
  for (const p of result.problems) {
    const inFile = docsOf.get(p.file) ?? [];
    const owner = [...inFile].reverse().find((d) => d.line <= p.line) ?? inFile.find((d) => p.line <= d.endLine);
    let c = owner ? docCase.get(owner) : undefined;
    if (!c) {
      const cases = byFile.get(p.file) ?? [];
      c = cases.find((x) => x.name === p.file);
      if (!c) {
        c = { name: p.file, file: p.file, line: 1, problems: [] };
        cases.unshift(c);
      }
    }
    c.problems.push(p);
  }
  for (const [f, cases] of byFile) if (cases.length === 0) cases.push({ name: f, file: f, line: 1, problems: [] });
  return byFile;
}

export function formatJunit(result: LoadResult): string {
  const byFile = casesOf(result);
  let tests = 0;
  let failures = 0;
  const suites: string[] = [];
  for (const [file, cases] of byFile) {
    const failed = cases.filter((c) => c.problems.some((p) => p.severity === 'error')).length;
    tests += cases.length;
    failures += failed;
    const body = cases.map((c) => {
      const errors = c.problems.filter((p) => p.severity === 'error');
      const warnings = c.problems.filter((p) => p.severity === 'warning');
      const parts: string[] = [];
      if (errors.length) {
        const summary = errors.length === 1 ? errors[0].message : `${errors.length} errors; first: ${errors[0].message}`;
        parts.push(`      <failure type="${xml(errors[0].rule)}" message="${xml(summary)}">${xml(errors.map(line).join('\n'))}</failure>`);
      }
      if (warnings.length) parts.push(`      <system-out>${xml(warnings.map(line).join('\n'))}</system-out>`);
      const open = `    <testcase classname="${xml(file)}" name="${xml(c.name)}" file="${xml(file)}" line="${c.line}"`;
      return parts.length ? `${open}>\n${parts.join('\n')}\n    </testcase>` : `${open}/>`;
    });
    suites.push(`  <testsuite name="${xml(file)}" tests="${cases.length}" failures="${failed}" errors="0" skipped="0">\n${body.join('\n')}\n  </testsuite>`);
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="pulpdist validate" tests="${tests}" failures="${failures}" errors="0">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
