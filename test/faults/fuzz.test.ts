/**
 * Item 7 of issue 8: seeded property tests (fast-check, fixed seeds, so a failure replays) of the
 * two parsers that read untrusted text: the spec loader and the PULP_MANIFEST parser. Whatever the
 * input, the loader never throws and every problem it reports is positioned inside the file with a
 * rule and a message; the manifest parser either returns entries that keep its invariants or
 * throws a ManifestParseError naming a line of the input. Nothing else may escape.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ManifestParseError, MAX_MANIFEST_LINE, parseManifest } from '../../manifest/parse.js';
import { loadSpecFiles, loadSpecPaths } from '../../spec/load.js';
import type { LoadResult } from '../../spec/types.js';
import { sha256 } from './support.js';

const DNS = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Process warnings emitted while parsing (a library printing advice on the user's terminal is a bug). */
const warnings: string[] = [];
process.on('warning', (w) => warnings.push(w.message));

/** Every problem positioned inside a text of `lines` lines, with a rule and a message; valid specs only when no error. */
function wellFormed(r: LoadResult, files: Record<string, string | Uint8Array>): true {
  for (const p of r.problems) {
    const content = files[p.file];
    assert.ok(content !== undefined, `problem in an unknown file ${p.file}`);
    const lines = (typeof content === 'string' ? content : Buffer.from(content).toString('latin1')).split(/\r\n|\r|\n/).length;
    assert.ok(Number.isInteger(p.line) && p.line >= 1 && p.line <= lines, `${p.file}:${p.line}:${p.column} outside ${lines} lines (${p.rule})`);
    assert.ok(Number.isInteger(p.column) && p.column >= 1, `${p.file}:${p.line}:${p.column} column`);
    assert.ok(p.rule && /^[a-z]+(-[a-z]+)*$/.test(p.rule), `rule ${p.rule}`);
    assert.ok(p.message.length > 0 && p.message.length < 2000, `message of ${p.rule}: ${p.message.slice(0, 100)}`);
    assert.ok(p.severity === 'error' || p.severity === 'warning');
  }
  if (!r.problems.some((p) => p.severity === 'error')) {
    for (const s of r.specs.sites) assert.match(s.name, DNS);
    for (const m of r.specs.mirrors) {
      assert.match(m.name, DNS);
      assert.ok(m.sites.includes(m.origin), `${m.name}: origin in sites`);
    }
  }
  return true;
}

const SITE = { apiVersion: 'pulpdist/v1', kind: 'Site', metadata: { name: 'origin' }, spec: { pulp: { url: 'https://o.example.com' } } };
const MIRROR = {
  apiVersion: 'pulpdist/v1',
  kind: 'Mirror',
  metadata: { name: 'm1', labels: { team: 'infra' } },
  spec: { source: { path: '/srv/m1' }, origin: 'origin', sites: ['origin'], basePath: 'm/1', schedule: { interval: '6h' }, retainVersions: 3, suspend: false },
};
/** Paths of leaves a mutation may replace, as key lists. */
const LEAVES: string[][] = [
  ['apiVersion'], ['kind'], ['metadata'], ['metadata', 'name'], ['metadata', 'labels'], ['metadata', 'labels', 'team'], ['spec'],
  ['spec', 'source'], ['spec', 'source', 'path'], ['spec', 'origin'], ['spec', 'sites'], ['spec', 'basePath'], ['spec', 'schedule'],
  ['spec', 'schedule', 'interval'], ['spec', 'retainVersions'], ['spec', 'suspend'], ['spec', 'extra'], ['spec', 'source', 'manifest'],
];

function setAt(obj: Record<string, unknown>, keys: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(obj);
  let node: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) {
    if (node[k] === null || typeof node[k] !== 'object') node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
  return copy;
}

test('spec loader: structured mutations (any JSON value at any field) never throw; problems are positioned', () => {
  const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 70 }), fc.constantFrom('', '~', 'null', 'true', 'origin', '../x', '0s', '-1', 'password', 'x'.repeat(64)));
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(...LEAVES), value), { minLength: 1, maxLength: 4 }), fc.boolean(), (edits, flow) => {
      let doc: Record<string, unknown> = MIRROR;
      for (const [keys, v] of edits) doc = setAt(doc, keys, v);
      const text = [SITE, doc].map((d) => stringify(d, flow ? { collectionStyle: 'flow' } : {})).join('---\n');
      const files = { 'f.yaml': text };
      return wellFormed(loadSpecFiles([{ path: 'f.yaml', content: text }]), files);
    }),
    { numRuns: 500, seed: 8001 },
  );
});

test('spec loader: byte-level mutations of a valid file (YAML punctuation, control bytes, invalid UTF-8) never throw', () => {
  const base = Buffer.from([SITE, MIRROR].map((d) => stringify(d)).join('---\n'));
  const piece = fc.oneof(
    fc.constantFrom(':', '- ', '[', ']', '{', '}', '&a ', '*a', '!!binary ', '!!js/function ', '"', "'", '|', '>', '\t', '\r', '\n', '---\n', '...\n', '%YAML 1.1\n', '? ', '<<: *a\n', '#', '\u2028', '\ufeff'),
    fc.uint8Array({ minLength: 1, maxLength: 4 }).map((a) => Buffer.from(a).toString('latin1')),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length), fc.nat(4), piece, fc.boolean()), { minLength: 1, maxLength: 6 }), (edits) => {
      let bytes = base;
      for (const [at, del, p, binary] of edits) {
        const i = Math.min(at, bytes.length);
        const ins = binary ? Buffer.from(p, 'latin1') : Buffer.from(p);
        bytes = Buffer.concat([bytes.subarray(0, i), ins, bytes.subarray(Math.min(bytes.length, i + del))]);
      }
      const files = { 'b.yaml': new Uint8Array(bytes) };
      return wellFormed(loadSpecFiles([{ path: 'b.yaml', content: files['b.yaml'] }]), files);
    }),
    { numRuns: 500, seed: 8002 },
  );
});

test('spec loader: several files with arbitrary names and documents never throw', () => {
  const doc = fc.oneof(fc.constant(stringify(SITE)), fc.constant(stringify(MIRROR)), fc.jsonValue({ maxDepth: 2 }).map((v) => stringify(v)), fc.string({ maxLength: 80 }));
  const name = fc.string({ minLength: 1, maxLength: 12 }).map((s) => `${s.replace(/[\0/]/g, '_')}.yaml`);
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(name, fc.array(doc, { maxLength: 3 })), { selector: ([n]) => n, minLength: 1, maxLength: 4 }), (list) => {
      const files: Record<string, string> = {};
      for (const [n, docs] of list) files[n] = docs.join('\n---\n');
      return wellFormed(loadSpecFiles(Object.entries(files).map(([p, content]) => ({ path: p, content }))), files);
    }),
    { numRuns: 200, seed: 8003 },
  );
});

test('spec loader from disk: random file contents never make loadSpecPaths reject', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-fuzz-'));
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 3 }), async (contents) => {
        await rm(dir, { recursive: true, force: true });
        await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
        const files: Record<string, Uint8Array> = {};
        for (const [i, c] of contents.entries()) {
          await writeFile(path.join(dir, `f${i}.yaml`), c);
          files[path.join(dir, `f${i}.yaml`)] = c;
        }
        const r = await loadSpecPaths([dir]);
        for (const p of r.problems) assert.ok(p.line >= 1 && p.column >= 1 && p.rule, `${p.file}:${p.line}:${p.column} ${p.rule}`);
        return true;
      }),
      { numRuns: 60, seed: 8004 },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** The manifest parser's contract on any input: valid entries, or a ManifestParseError naming a line. */
function manifestContract(input: string | Uint8Array): true {
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    text = Buffer.from(input as Uint8Array).toString('latin1');
  }
  const lines = text.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/).length;
  let entries;
  try {
    entries = parseManifest(input);
  } catch (err) {
    assert.instance(err, ManifestParseError, `not a ManifestParseError: ${String(err)}`);
    const e = err as ManifestParseError;
    assert.is(e.code, 'ManifestParseError');
    assert.ok(e.line >= 1 && e.line <= lines, `line ${e.line} of ${lines}`);
    assert.ok(e.message.startsWith(`manifest line ${e.line}: `), e.message);
    assert.ok(e.message.length < 400, `message length ${e.message.length}`);
    return true;
  }
  const seen = new Set<string>();
  for (const x of entries) {
    assert.match(x.sha256, /^[0-9a-f]{64}$/);
    assert.ok(Number.isSafeInteger(x.size) && x.size >= 0, `size ${x.size}`);
    assert.ok(x.relativePath.length > 0 && !x.relativePath.startsWith('/') && !x.relativePath.includes('\\') && !x.relativePath.includes('\0'), x.relativePath);
    assert.ok(x.relativePath.split('/').every((s) => s !== '' && s !== '.' && s !== '..'), x.relativePath);
    assert.ok(x.relativePath.length <= MAX_MANIFEST_LINE);
    assert.not.ok(seen.has(x.relativePath), `duplicate ${x.relativePath}`);
    seen.add(x.relativePath);
  }
  for (const p of seen) for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) assert.not.ok(seen.has(p.slice(0, i)), `${p} inside a file`);
  return true;
}

test('no process warning was printed while loading any of the specs above', () => {
  assert.equal(warnings, []);
});

test('manifest parser: random bytes and random text', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => manifestContract(b)), { numRuns: 1000, seed: 9001 });
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => manifestContract(s)), { numRuns: 1000, seed: 9002 });
});

test('manifest parser: lines built from manifest-like pieces (commas, dots, slashes, digits, hex, odd line breaks)', () => {
  const D = sha256('x');
  const field = fc.oneof(
    fc.constantFrom('a', 'b/c', '..', '.', '', ' ', '/', '//', 'a/../b', '#x', 'é', '\\', '\0', ',', D, D.toUpperCase(), D.slice(1), '0', '-1', '1.5', '1e3', '9007199254740993', ' 7 '),
    fc.stringMatching(/^[a-z0-9./,# -]{0,10}$/),
  );
  const line = fc.array(field, { minLength: 0, maxLength: 5 }).map((f) => f.join(','));
  const br = fc.constantFrom('\n', '\r\n', '\r', '\u2028', '\x85', '\v', '\f');
  fc.assert(
    fc.property(fc.array(fc.tuple(line, br), { maxLength: 8 }), fc.boolean(), (ls, bytes) => {
      const text = ls.map(([l, b]) => l + b).join('');
      return manifestContract(bytes ? new TextEncoder().encode(text) : text);
    }),
    { numRuns: 2000, seed: 9003 },
  );
});

test('manifest parser: mutations of a valid manifest', () => {
  const files = Array.from({ length: 6 }, (_, i) => `dir${i % 2}/file${i}.bin,${sha256(String(i))},${i * 100}\n`).join('');
  const base = Buffer.from(files);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length), fc.nat(3), fc.uint8Array({ maxLength: 3 })), { minLength: 1, maxLength: 5 }), (edits) => {
      let b = base;
      for (const [at, del, ins] of edits) {
        const i = Math.min(at, b.length);
        b = Buffer.concat([b.subarray(0, i), Buffer.from(ins), b.subarray(Math.min(b.length, i + del))]);
      }
      return manifestContract(new Uint8Array(b));
    }),
    { numRuns: 1500, seed: 9004 },
  );
});

test.run();
