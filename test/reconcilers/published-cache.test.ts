/** The published-manifest cache: what persists, what is forgotten, and that a torn file is harmless. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PublishedCache } from '../../reconcilers/published-cache.js';
import { formatTreeLabel, parseTreeLabel } from '../../reconcilers/names.js';
import { tree } from './fixtures.js';

const T = tree([['a', 'a1', 10]]);

test('round trip keeps digests and counts, drops entries; retain forgets vanished distributions of that site only', () => {
  const c = new PublishedCache();
  c.set('hub', 'pulpdist.a', { basePath: 'a', repository: '/r/1/', versionHref: '/r/1/versions/2/', etag: '"x"', tree: T });
  c.set('hub', 'pulpdist.b', { basePath: 'b', repository: '/r/2/', versionHref: '/r/2/versions/1/', etag: null, tree: null });
  c.set('leaf', 'pulpdist.b', { basePath: 'b', repository: '/r/3/', versionHref: '/r/3/versions/1/', etag: null, tree: null });
  const back = PublishedCache.fromJSON(JSON.parse(JSON.stringify(c)));
  assert.equal(back.get('hub', 'pulpdist.a'), { basePath: 'a', repository: '/r/1/', versionHref: '/r/1/versions/2/', etag: '"x"', tree: { digest: T.digest, files: 1, bytes: 10, entries: null } });
  assert.is(back.size, 3);
  back.retain('hub', new Set(['pulpdist.a']));
  assert.is(back.get('hub', 'pulpdist.b'), undefined);
  assert.ok(back.get('leaf', 'pulpdist.b'));
  assert.is(back.size, 2);
});

test('anything malformed gives an empty cache or skips the bad entry', () => {
  for (const junk of [null, 42, 'x', { version: 3, entries: [] }, { version: 2 }]) assert.is(PublishedCache.fromJSON(junk).size, 0);
  const c = PublishedCache.fromJSON({ version: 2, entries: [['k', { basePath: 3 }], ['ok', { basePath: 'b', tree: { digest: 1 } }], 'x'] });
  assert.is(c.size, 1);
  // A version 1 file was keyed on the repository's latest version, which could hide a deleted publication: dropped.
  const old = PublishedCache.fromJSON({ version: 1, entries: [[PublishedCache.key('hub', 'pulpdist.a'), { basePath: 'a', repository: '/r/1/', versionHref: '/r/1/versions/1/', etag: null, tree: null }]] });
  assert.is(old.size, 0);
});

test('tree label: round trip; malformed values are ignored', () => {
  const l = { repository: '0d8c7f1e-aaaa-4bbb-8ccc-123456789abc', version: 12, digest: T.digest, files: 3, bytes: 305012 };
  assert.equal(parseTreeLabel(formatTreeLabel(l)), l);
  for (const bad of [undefined, '', '12:abc:1:2', `x:1:${T.digest.toUpperCase()}:1:2`, `x:1:${T.digest}:1`, `x y:1:${T.digest}:1:2`]) assert.is(parseTreeLabel(bad), null, String(bad));
});

test.run();
