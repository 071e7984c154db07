/**
 * treeOfText (reconcilers/tree.ts) keeps the last few summaries by text: the same manifest text
 * (a mirror's sites publish the same bytes) is parsed once, and every caller still gets an object of
 * its own with the same figures.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { treeDigest } from '../../manifest/digest.js';
import { ManifestParseError, parseManifest } from '../../manifest/parse.js';
import { treeOfText } from '../../reconcilers/tree.js';

const line = (i: number) => `dir/f${i}.bin,${i.toString(16).padStart(64, '0')},${i * 10}\n`;
const text = (n: number, from = 0) => Array.from({ length: n }, (_, i) => line(from + i)).join('');

test('the same text gives the same figures in a new object each time, the entries shared and read-only', () => {
  const t = text(50);
  const a = treeOfText(t);
  assert.equal({ digest: a.digest, files: a.files, bytes: a.bytes }, { digest: treeDigest(parseManifest(t)), files: 50, bytes: 12250 });
  // A copy of the text (another string object): found by its content.
  const b = treeOfText((' ' + t).slice(1));
  assert.is.not(a, b);
  assert.is(a.entries, b.entries, 'parsed once');
  (a as { notes?: readonly string[] }).notes = ['said to one caller only'];
  assert.is(treeOfText(t).notes, undefined);
});

test('an older text pushed out by eight newer ones is parsed again, with the same result', () => {
  const t = text(3, 1000);
  const first = treeOfText(t);
  for (let k = 0; k < 8; k++) treeOfText(text(2, 2000 + k * 10));
  const again = treeOfText(t);
  assert.is.not(again.entries, first.entries);
  assert.equal(again.entries, first.entries);
  assert.is(again.digest, first.digest);
});

test('a malformed text throws the parser error each time: nothing is kept for it', () => {
  for (let k = 0; k < 2; k++) {
    const err = (() => {
      try {
        treeOfText('ok.txt,' + '0'.repeat(64) + ',1\nbroken line\n');
      } catch (e) {
        return e;
      }
      return null;
    })();
    assert.instance(err, ManifestParseError);
    assert.is((err as ManifestParseError).line, 2);
  }
});

test.run();
