/**
 * Reading the recorded answers of a real Pulp 3.24 (copied from shared/reference/real-pulp-3.24/
 * into test/site/recorded/) and comparing shapes: same keys, same value types, recursively.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from '../../core/paths.js';

const DIR = path.join(PACKAGE_ROOT, 'test', 'site', 'recorded');

export interface Recorded {
  status: number;
  headers: Record<string, string>;
  text: string;
  body: any;
}

export function recorded(name: string): Recorded {
  const head = readFileSync(path.join(DIR, `${name}.status`), 'utf8').split('\n');
  const status = Number(/HTTP\/1\.1 (\d+)/.exec(head[0]!)![1]);
  const headers: Record<string, string> = {};
  for (const l of head.slice(1)) {
    const m = /^([^:]+):\s*(.*)$/.exec(l);
    if (m) headers[m[1]!.toLowerCase()] = m[2]!;
  }
  const text = readFileSync(path.join(DIR, `${name}.body`), 'utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status, headers, text, body };
}

/** Fields whose type may differ: digests the site does not compute are null (ALLOWED_CONTENT_CHECKSUMS = sha256). */
const NULLABLE = new Set(['sha224', 'sha384', 'sha512']);

/**
 * Assert `ours` has the recorded value's shape: objects with the same keys (ours may add keys in
 * `extra`), values of the same JSON type; arrays compared by their first elements.
 */
export function assertShape(ours: unknown, theirs: unknown, where = '$', extra: string[] = []): void {
  const type = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  const last = where.split('.').at(-1)!;
  if (NULLABLE.has(last) && (ours === null || typeof ours === 'string')) return;
  assert.is(type(ours), type(theirs), `${where}: type`);
  if (type(theirs) === 'object') {
    const o = ours as Record<string, unknown>;
    const t = theirs as Record<string, unknown>;
    const ourKeys = Object.keys(o).filter((k) => !extra.includes(k));
    assert.equal(ourKeys.sort(), Object.keys(t).sort(), `${where}: keys`);
    for (const k of Object.keys(t)) assertShape(o[k], t[k], `${where}.${k}`, extra);
  } else if (type(theirs) === 'array') {
    const o = ours as unknown[];
    const t = theirs as unknown[];
    if (t.length && o.length) assertShape(o[0], t[0], `${where}[0]`, extra);
  }
}
