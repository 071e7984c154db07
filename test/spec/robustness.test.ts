/**
 * Inputs that must give a positioned problem, never a crash or a hang: empty, binary and huge
 * files, alias bombs, deep nesting, tabs, runaway syntax errors, and random bytes (fast-check).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { MAX_FILE_BYTES } from '../../spec/source-file.js';
import { MIRROR_BODY, SITES, load, mirror, where } from './fixtures.js';

test('an empty file is a warning, not an error', () => {
  const r = load({ 'e.yaml': '' });
  assert.equal(where(r), ['e.yaml:1:1 warning file-empty']);
  assert.is(r.documents, 0);
  assert.is(r.files, 1);
});

test('a file of comments and empty documents holds no documents', () => {
  assert.equal(where(load({ 'c.yaml': '# nothing here\n---\n---\n# still nothing\n' })), ['c.yaml:1:1 warning file-empty']);
});

test('a binary file: invalid UTF-8 and NUL bytes', () => {
  const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe]);
  assert.equal(where(load({ 'p.yaml': bytes })), ['p.yaml:1:1 error file-binary']);
  assert.equal(where(load({ 'z.yaml': 'apiVersion: pulpdist/v1\n\u0000\u0001kind: Site\n' })), ['z.yaml:1:1 error file-binary']);
});

test('a file over the size cap is refused without parsing', () => {
  const huge = 'a: ' + 'x'.repeat(MAX_FILE_BYTES);
  const r = load({ 'h.yaml': huge });
  assert.equal(where(r), ['h.yaml:1:1 error file-too-large']);
  assert.match(r.problems[0]!.message, /larger than the 1 MiB limit/);
});

test('an alias bomb stops at the alias limit, at the first alias', () => {
  let bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  let prev = 'a';
  for (const n of 'bcdefghi') {
    bomb += `${n}: &${n} [${Array(9).fill('*' + prev).join(',')}]\n`;
    prev = n;
  }
  const r = load({ 'bomb.yaml': bomb });
  assert.equal(where(r), ['bomb.yaml:2:8 error alias-limit']);
});

test('deep flow nesting is refused before parsing, at the bracket past the limit', () => {
  const r = load({ 'd.yaml': 'a: ' + '['.repeat(200_000) + ']'.repeat(200_000) });
  assert.equal(where(r), ['d.yaml:1:68 error nesting-depth']);
});

test('deep block nesting is refused', () => {
  const text = Array.from({ length: 100 }, (_, i) => ' '.repeat(i) + 'k:').join('\n');
  const r = load({ 'b.yaml': text });
  assert.equal(where(r), ['b.yaml:65:65 error nesting-depth']);
});

test('an alias to an anchor that does not exist', () => {
  assert.equal(where(load({ 'u.yaml': 'a: 1\nb: *nope\n' })), ['u.yaml:2:4 error yaml-syntax']);
});

test('runaway syntax errors are capped with a count of the rest', () => {
  const text = Array.from({ length: 40 }, (_, i) => `k${i}: "unterminated\n`).join('');
  const r = load({ 's.yaml': text });
  assert.is(r.problems.length, 21);
  assert.ok(r.problems.every((p) => p.rule === 'yaml-syntax'));
  assert.equal(where(r).slice(0, 2), ['s.yaml:1:5 error yaml-syntax', 's.yaml:2:5 error yaml-syntax']);
  const last = r.problems[20]!;
  assert.equal([last.line, last.column, last.message], [21, 6, '20 more YAML syntax errors from here on not shown']);
});

test('a BOM and CRLF line endings change no position', () => {
  const crlf = (SITES + '---\n' + mirror(MIRROR_BODY + '  basepath: x\n')).replace(/\n/g, '\r\n');
  assert.equal(where(load({ 'w.yaml': '\ufeff' + crlf })), ['w.yaml:18:3 error schema']);
});

test('a scalar document and a null document are not specs', () => {
  assert.equal(where(load({ 's.yaml': 'just text\n' })), ['s.yaml:1:1 error document-shape']);
  assert.equal(where(load({ 'n.yaml': '~\n' })), ['n.yaml:1:1 error document-shape']);
});

test('a mapping with thousands of unknown keys: capped schema problems, the cap said at the document start', () => {
  const keys = Array.from({ length: 5000 }, (_, i) => `  k${i}: 1\n`).join('');
  const r = load({ 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + keys) });
  assert.is(r.problems.length, 101);
  assert.equal(where(r).slice(0, 3), ['m.yaml:1:1 error schema', 'm.yaml:8:3 error schema', 'm.yaml:9:3 error schema']);
  assert.is(r.problems[0]!.message, 'more than 100 schema problems in this document; the rest are not shown');
});

test('duplicate keys are found in flow and block mappings, each at the repeated key', () => {
  assert.equal(where(load({ 'd.yaml': 'a: {x: 1, y: 2, x: 3}\nb: 1\nb: 2\nc: [{k: 1, k: 2}]\n' })), ['d.yaml:1:17 error duplicate-key', 'd.yaml:3:1 error duplicate-key', 'd.yaml:4:12 error duplicate-key']);
});

test('fuzz: random text never throws and every problem has a real position', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
      const r = load({ 'f.yaml': text });
      const lines = text.split('\n').length;
      for (const p of r.problems) {
        if (!(p.line >= 1 && p.line <= lines + 1 && p.column >= 1)) return false;
        if (!p.message || !p.rule) return false;
      }
      return true;
    }),
    { numRuns: 300, seed: 42 },
  );
});

test('fuzz: mutations of a valid spec never throw and keep positions inside the file', () => {
  const base = SITES + '---\n' + mirror(MIRROR_BODY + '  schedule: {cron: "0 */6 * * *"}\n  basePath: a/b\n');
  const pieces = [' ', '\t', ':', '-', '[', ']', '{', '}', '&x', '*x', '"', "'", '\n', '#', '---\n', 'password: p\n', '|'];
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length), fc.nat(3), fc.constantFrom(...pieces)), { maxLength: 6 }), (edits) => {
      let text = base;
      for (const [at, del, piece] of edits) {
        const i = Math.min(at, text.length);
        text = text.slice(0, i) + piece + text.slice(i + del);
      }
      const r = load({ 'm.yaml': text });
      const lines = text.split(/\r?\n/).length;
      return r.problems.every((p) => p.line >= 1 && p.line <= lines && p.column >= 1) && r.documents >= 0;
    }),
    { numRuns: 400, seed: 7 },
  );
});

test.run();
