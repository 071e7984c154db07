/** The content app's If-None-Match and Range, as aiohttp 3.8's FileResponse reads them (pulpcore's content app). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { byteRange, noneMatch } from '../../site/file-conditions.js';

const ETAG = '"18ee489d3fe8597f-bf4"';

test('If-None-Match: the exact tag, in a list, or *; strong comparison (a W/ tag does not match)', () => {
  assert.ok(noneMatch(ETAG, ETAG));
  assert.ok(noneMatch(`"x", ${ETAG}`, ETAG));
  assert.ok(noneMatch(' * ', ETAG));
  for (const h of [undefined, '', '"x"', `W/${ETAG}`, ETAG.slice(1, -1)]) assert.not.ok(noneMatch(h, ETAG), String(h));
});

test('Range: one bytes range; suffixes and open ends; end clamped to the file (recordings extra4/58-59, extra/41)', () => {
  const table: Array<[string | undefined, number, ReturnType<typeof byteRange>]> = [
    ['bytes=0-9', 3060, { kind: 'partial', start: 0, end: 9 }],
    ['bytes=0-9', 20000, { kind: 'partial', start: 0, end: 9 }],
    ['bytes=100000-', 3060, { kind: 'unsatisfiable' }],
    ['bytes=100-200', 30, { kind: 'unsatisfiable' }],
    ['bytes=5-2', 3060, { kind: 'unsatisfiable' }],
    ['bytes=3060-', 3060, { kind: 'unsatisfiable' }],
    ['bytes=-0', 3060, { kind: 'unsatisfiable' }],
    ['bytes=3000-', 3060, { kind: 'partial', start: 3000, end: 3059 }],
    ['bytes=10-99999', 3060, { kind: 'partial', start: 10, end: 3059 }],
    ['bytes=-100', 3060, { kind: 'partial', start: 2960, end: 3059 }],
    // A suffix longer than the file is the whole file, as a 206 (range-parser would say unsatisfiable).
    ['bytes=-100000', 3060, { kind: 'partial', start: 0, end: 3059 }],
    [' bytes=1-2 ', 3060, { kind: 'partial', start: 1, end: 2 }],
  ];
  for (const [h, size, want] of table) assert.equal(byteRange(h, size), want, `${h} of ${size}`);
});

test('Range: anything but one bytes range, and any range of an empty file, leaves the answer whole', () => {
  for (const h of [undefined, '', 'bytes=-', 'bytes=0-1,5-6', 'items=0-5', 'bytes= 0-9', 'bytes=0x-9', 'bytes=a-b', 'bytes 0-9']) {
    assert.equal(byteRange(h, 3060), { kind: 'whole' }, String(h));
  }
  assert.equal(byteRange('bytes=0-9', 0), { kind: 'whole' });
});

test.run();
