#!/usr/bin/env node
// The import rules of docs/architecture.md, checked over the TypeScript sources:
// 1. no run-time import cycle (type-only imports are erased by the compiler and do not count);
// 2. each top-level folder imports only the folders it may (run-time and type imports alike).
// usage: node scripts/check-imports.mjs   (exit 0 clean, 1 with one line per finding)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const projectRoot = path.resolve(new URL('..', import.meta.url).pathname);

/** What each folder may import besides itself. Keep in step with docs/architecture.md. */
export const ALLOWED = {
  core: [],
  spec: ['core'],
  manifest: ['core'],
  // events/ reuses pulp/backoff.ts (pure retry delays) rather than a second copy of the same formula.
  events: ['core', 'spec', 'pulp'],
  pulp: ['core', 'spec'],
  reconcilers: ['core', 'spec', 'pulp', 'manifest'],
  sources: ['core', 'spec', 'manifest', 'reconcilers'],
  site: ['core', 'manifest', 'pulp'],
  gitsource: ['core', 'spec'],
  status: ['core', 'spec', 'reconcilers', 'gitsource'],
  web: ['core', 'reconcilers', 'status'],
  controller: ['core', 'spec', 'events', 'pulp', 'manifest', 'reconcilers', 'sources', 'gitsource', 'status', 'web'],
  // The demo starts the controller itself (demo/run.ts); cli/commands/demo.ts only parses and prints.
  demo: ['core', 'controller'],
  cli: ['core', 'spec', 'events', 'pulp', 'manifest', 'reconcilers', 'sources', 'site', 'gitsource', 'status', 'web', 'controller', 'demo'],
  testkit: ['core', 'spec', 'events', 'pulp', 'manifest', 'reconcilers', 'sources', 'site', 'gitsource', 'status', 'web', 'controller', 'cli', 'demo'],
  bench: ['core', 'spec', 'events', 'pulp', 'manifest', 'reconcilers', 'sources', 'site', 'gitsource', 'status', 'web', 'controller', 'cli', 'demo', 'testkit'],
  test: ['core', 'spec', 'events', 'pulp', 'manifest', 'reconcilers', 'sources', 'site', 'gitsource', 'status', 'web', 'controller', 'cli', 'demo', 'testkit', 'bench'],
};

/**
 * Within a folder it may import, the only files a folder may import. reconcilers/ is the pure core
 * of a pass (issue 14): from manifest/ only the pure parser and digest, from pulp/ only the client's
 * types and errors; the I/O (scans, hash threads, HTTP) comes in through what the composition root
 * passes (sources/, pulp/client.ts).
 */
export const ONLY = {
  reconcilers: {
    manifest: ['manifest/digest.ts', 'manifest/parse.ts', 'manifest/types.ts'],
    pulp: ['pulp/errors.ts', 'pulp/types.ts'],
  },
};

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative imports of one file: `{target, typeOnly}` (target relative to the root, as .ts). */
export function importsOf(root, file, text) {
  const out = [];
  const re = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const m of text.matchAll(re)) {
    const spec = m[4] ?? m[5] ?? m[6];
    // `import { type A, type B }` is as type-only as `import type { A, B }`.
    const clause = m[3] ?? '';
    const typeOnly = Boolean(m[2]) || (/^\{[^}]*\}$/s.test(clause.trim()) && clause.replace(/[{}\s]/g, '').split(',').filter(Boolean).every((s) => s.startsWith('type')));
    const target = path.relative(root, path.resolve(path.dirname(file), spec)).replace(/\.js$/, '.ts');
    out.push({ target, typeOnly: m[5] ? false : typeOnly });
  }
  return out;
}

/** Check the tree under `root` (default: this project). */
export function check(root = projectRoot) {
  const folders = Object.keys(ALLOWED);
  const files = folders.flatMap((f) => { try { return walk(path.join(root, f)); } catch { return []; } });
  const findings = [];
  const graph = new Map();
  for (const file of files) {
    const rel = path.relative(root, file);
    const top = rel.split(path.sep)[0];
    const edges = [];
    for (const { target, typeOnly } of importsOf(root, file, readFileSync(file, 'utf8'))) {
      const targetTop = target.split(path.sep)[0];
      if (targetTop !== top && ALLOWED[targetTop] && !ALLOWED[top].includes(targetTop)) {
        findings.push(`${rel}: imports ${target}, but ${top}/ may not import ${targetTop}/`);
      } else if (targetTop !== top && ONLY[top]?.[targetTop] && !ONLY[top][targetTop].includes(target.split(path.sep).join('/'))) {
        findings.push(`${rel}: imports ${target}, but ${top}/ may import from ${targetTop}/ only ${ONLY[top][targetTop].join(', ')}`);
      }
      if (!typeOnly) edges.push(target);
    }
    graph.set(rel, edges);
  }
  // Tarjan's strongly connected components over run-time edges: any component of two or more files is a cycle.
  let index = 0;
  const idx = new Map(), low = new Map(), stack = [], on = new Set();
  const strong = (v) => {
    idx.set(v, index); low.set(v, index); index += 1; stack.push(v); on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do { w = stack.pop(); on.delete(w); comp.push(w); } while (w !== v);
      if (comp.length > 1) findings.push(`run-time import cycle: ${comp.sort().join(' ↔ ')}`);
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return { files: files.length, findings };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const { files, findings } = check();
  for (const f of findings) console.log(f);
  console.log(findings.length ? `${findings.length} import problem(s) in ${files} files` : `imports ok: ${files} files, no cycle, every folder within its rules`);
  process.exit(findings.length ? 1 : 0);
}
