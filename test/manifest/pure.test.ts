import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { canonicalManifest, compareRelativePaths, sortEntries, treeDigest } from '../../manifest/digest.js';
import { escapeRawName, isValidUtf8, obviouslyRepresentable, unrepresentableReason } from '../../manifest/names.js';
import { formatCache, parseCache } from '../../manifest/cache.js';
import { formatProgress, formatSummary } from '../../manifest/report.js';
import { compileExclude } from '../../manifest/exclude.js';
import { ScanOptionError } from '../../manifest/errors.js';
import type { ManifestEntry } from '../../manifest/types.js';

const H = (c: string) => createHash('sha256').update(c).digest('hex');
const e = (relativePath: string, size = 1): ManifestEntry => ({ relativePath, sha256: H(relativePath), size });

test('canonicalManifest: one line per entry, sorted by UTF-8 bytes whatever the input order', () => {
  const entries = [e('b'), e('a/z'), e('a,b'), e('x-\u{1F600}'), e('x-\uFF01'), e('B'), e('a')];
  const text = canonicalManifest(entries);
  assert.equal(
    text.split('\n').slice(0, -1).map((l) => l.slice(0, l.length - 67)),
    ['B', 'a', 'a,b', 'a/z', 'b', 'x-\uFF01', 'x-\u{1F600}'],
  );
  assert.ok(text.endsWith(`,${H('x-\u{1F600}')},1\n`));
  assert.is(canonicalManifest([]), '');
  assert.is(treeDigest(entries), H(text));
  assert.is(treeDigest([]), H(''));
});

test('sorting agrees with Buffer.compare on arbitrary unicode paths', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }), { maxLength: 30 }), (paths) => {
      const sorted = sortEntries(paths.map((p) => e(p))).map((x) => x.relativePath);
      const expected = paths.slice().sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.equal(sorted, expected);
      for (let i = 1; i < sorted.length; i++) assert.ok(compareRelativePaths(sorted[i - 1]!, sorted[i]!) <= 0);
    }),
    { numRuns: 200 },
  );
});

test('treeDigest does not depend on input order', () => {
  const entries = [e('c', 3), e('a', 1), e('b/d', 2)];
  assert.is(treeDigest(entries), treeDigest(entries.slice().reverse()));
  assert.is.not(treeDigest(entries), treeDigest([e('c', 4), e('a', 1), e('b/d', 2)]));
});

test('unrepresentableReason follows pulp_file: splitlines, strip, leading #, and what its URLs break on', () => {
  const ok = ['a', 'a b', 'a,b,c', 'semi;colon.txt', 'a;b/c', 'a /b', ' a'.slice(1), 'x\u00a0y', '\ufeffbom', 'quote"\'', 'plus+amp&eq=.txt', '[br]{ace}!$\'()*@'];
  for (const p of ok) assert.is(unrepresentableReason(p), undefined, JSON.stringify(p));
  const table: [string, RegExp][] = [
    ['a\nb', /line break/],
    ['a\rb', /line break/],
    ['a\x0bb', /line break/],
    ['a\x0cb', /line break/],
    ['a\x1cb', /line break/],
    ['a\x85b', /line break/],
    ['a\u2028b', /line break/],
    [' a', /whitespace/],
    ['a ', /whitespace/],
    ['a\t', /whitespace/],
    ['\u3000a', /whitespace/],
    ['a\x1f', /whitespace/],
    ['#a', /comment/],
    ['#a/b', /comment/],
    ['sub/#x', /"#": .* URL fragment/],
    ['sub/x#y.txt', /"#": .* URL fragment/],
    ['q?.txt', /"\?": .* URL query/],
    ['percent%20.txt', /"%": .* percent-escape/],
    ['dir%/x', /"%"/],
    ['back\\slash', /backslash/],
    ['ctl\x01.txt', /control character U\+0001/],
    ['del\x7f.txt', /control character U\+007F/],
    ['c1\x9b.txt', /control character U\+009B/],
  ];
  for (const [p, why] of table) assert.match(unrepresentableReason(p) ?? '', why, JSON.stringify(p));
});

test('the fast pre-check never passes a name the full check rejects', () => {
  const chars = fc.constantFrom('a', 'é', '#', '?', '%', '\\', '\x01', '\x7f', '\x9b', ';', ' ', '\t', '\n', '\r', '\x0b', '\x1c', '\x1f', '\x85', '\xa0', '\u2028', '\u3000', '\ufeff', ',', '/');
  fc.assert(
    fc.property(fc.array(chars, { minLength: 1, maxLength: 5 }), (cs) => {
      const p = cs.join('');
      if (obviouslyRepresentable(p)) assert.is(unrepresentableReason(p), undefined, JSON.stringify(p));
    }),
    { numRuns: 500 },
  );
  assert.ok(obviouslyRepresentable('plain/name.txt'));
  assert.not.ok(obviouslyRepresentable('a b'));
});

test('raw names: UTF-8 validity and escaping', () => {
  assert.ok(isValidUtf8(Buffer.from('ünï 文 😀')));
  assert.not.ok(isValidUtf8(Buffer.from([0x61, 0xff])));
  assert.not.ok(isValidUtf8(Buffer.from([0xc0, 0xaf]))); // overlong '/'
  assert.not.ok(isValidUtf8(Buffer.from([0xed, 0xa0, 0x80]))); // a UTF-16 surrogate
  assert.not.ok(isValidUtf8(Buffer.from([0xe6, 0x96]))); // truncated
  assert.is(escapeRawName(Buffer.from([0x62, 0xff, 0xc3, 0xbc, 0x80])), 'b\\xffü\\x80');
});

test('cache lookups: in the order written, out of order, a changed file, a new file', () => {
  const k = (n: number) => `${n}\x001\x002\x003`;
  const text = formatCache('/t', new Map([['a', { key: k(1), sha256: H('a') }], ['b', { key: k(2), sha256: H('b') }], ['c', { key: k(3), sha256: H('c') }]]));
  const inOrder = parseCache(text).records;
  assert.equal([inOrder.match('a', k(1)), inOrder.match('b', k(2)), inOrder.match('c', k(3))], [H('a'), H('b'), H('c')]);
  // A changed file (same path, other key) misses and the next one still hits.
  const changed = parseCache(text).records;
  assert.equal([changed.match('a', k(9)), changed.match('b', k(2)), changed.match('c', k(33))], [undefined, H('b'), undefined]);
  // Out of order, and a file the cache does not hold, in the middle: every other lookup still answers.
  const shuffled = parseCache(text).records;
  assert.equal([shuffled.match('c', k(3)), shuffled.match('a', k(1)), shuffled.match('b', k(3)), shuffled.match('b', k(2))], [H('c'), H('a'), undefined, H('b')]);
  const added = parseCache(text).records;
  assert.equal([added.match('a', k(1)), added.match('a2', k(1)), added.match('b', k(2)), added.match('c', k(3))], [H('a'), undefined, H('b'), H('c')]);
  // A path that is a prefix of the cached one is another file.
  const prefix = parseCache(text).records;
  assert.is(prefix.match('', k(1)), undefined);
  assert.equal([...prefix].map(([rel]) => rel), ['a', 'b', 'c']);
});

test('cache text round-trips, and any damage makes it corrupt as a whole', () => {
  const records = new Map([
    ['a.txt', { key: '4\x001\x002\x003', sha256: H('a') }],
    ['d/with,comma and space', { key: '0\x005\x006\x007', sha256: H('b') }],
  ]);
  const text = formatCache('/srv/tree', records);
  const back = parseCache(text);
  assert.is(back.state, 'loaded');
  assert.equal([...back.records], [...records]);
  const empty = parseCache(formatCache('/t', new Map()));
  assert.is(empty.state, 'loaded');
  assert.is(empty.records.size, 0);
  // A lookup hits only on the exact stat key: a longer or shorter key that shares a prefix misses.
  assert.is(back.records.match('a.txt', '4\x001\x002\x003'), H('a'));
  assert.is(back.records.match('a.txt', '4\x001\x002\x0033'), undefined);
  assert.is(back.records.match('a.txt', '4\x001\x002\x00'), undefined);
  assert.is(back.records.match('d/with,comma and space', '4\x001\x002\x003'), undefined);
  assert.is(back.records.match('missing', '4\x001\x002\x003'), undefined);
  // find gives where a hit's record starts; the record, its path and its entry are read back from there.
  const lines = parseCache(text).records;
  const at = lines.find('d/with,comma and space', '0\x005\x006\x007');
  assert.ok(at > 0);
  assert.is(lines.find('a.txt', '4\x001\x002\x0033'), -1);
  assert.is(lines.pathAt(at), 'd/with,comma and space');
  assert.equal(lines.recordAt(at), { key: '0\x005\x006\x007', sha256: H('b') });
  assert.equal(lines.entryAt(at), { relativePath: 'd/with,comma and space', sha256: H('b'), size: 0 });
  assert.equal(lines.entryAt(lines.find('a.txt', '4\x001\x002\x003')), { relativePath: 'a.txt', sha256: H('a'), size: 4 });
  for (let cut = 0; cut < text.length; cut += 7) {
    const torn = parseCache(text.slice(0, cut));
    assert.is(torn.state, 'corrupt', `cut at ${cut}`);
    assert.is(torn.records.size, 0);
  }
  // The tree digest line is covered by the checksum like the records.
  const withDigest = formatCache('/srv/tree', records, H('m'));
  assert.is(parseCache(withDigest).manifestDigest, H('m'));
  assert.equal([...parseCache(withDigest).records], [...records]);
  assert.is(parseCache(withDigest.replace(H('m'), H('n'))).state, 'corrupt');
  assert.is(parseCache(text).manifestDigest, undefined);
  const flipped = text.replace(H('a'), H('x'));
  assert.is(parseCache(flipped).state, 'corrupt');
  const recounted = text.replace(/\nend 2 /, '\nend 3 ');
  assert.is(parseCache(recounted).state, 'corrupt');
});

test('exclude patterns: any depth without a slash, from the root with one, trailing / dropped', async () => {
  assert.is(await compileExclude([]), undefined);
  const m = (await compileExclude(['*.tmp', '/top', 'cache/', 'a/b/**', './rel']))!;
  const table: [string, boolean][] = [
    ['x.tmp', true], ['d/e/x.tmp', true], ['.x.tmp', true], ['x.tmpl', false],
    ['top', true], ['d/top', false],
    ['cache', true], ['d/cache', true],
    ['a/b/c', true], ['a/b/c/d', true], ['z/a/b/c', false],
    ['rel', true], ['d/rel', true],
    ['other', false],
  ];
  for (const [p, want] of table) assert.is(m(p), want, p);
  for (const bad of ['', '  ', '/', './']) {
    try {
      await compileExclude([bad]);
      assert.unreachable(JSON.stringify(bad));
    } catch (err) {
      assert.instance(err, ScanOptionError);
      assert.is((err as ScanOptionError).option, 'exclude');
    }
  }
});

test('progress line: counts, rate, and an ETA once the totals are known', () => {
  const walking = { phase: 'walk' as const, filesSeen: 500, filesToHash: 40, filesUnsized: 0, bytesToHash: 4 * 1024 ** 3, filesHashed: 10, bytesHashed: 1024 ** 3 };
  assert.is(formatProgress(walking, 2000), 'hashing: 10/40+ files, 1.0 GiB/4.0 GiB+, 512 MiB/s, 500 files seen');
  assert.is(formatProgress({ ...walking, phase: 'hash' }, 2000), 'hashing: 10/40 files, 1.0 GiB/4.0 GiB, 512 MiB/s, ETA 6.0s');
  assert.is(formatProgress({ ...walking, phase: 'hash', bytesHashed: 0, filesHashed: 0 }, 0), 'hashing: 0/40 files, 0 B/4.0 GiB, 0 B/s');
  // A cold scan: 20 of the 40 files not sized yet count at the mean of the 20 that are (~8 GiB in all).
  const cold = { ...walking, phase: 'hash' as const, filesUnsized: 20 };
  assert.is(formatProgress(cold, 2000), 'hashing: 10/40 files, 1.0 GiB/~8.0 GiB, 512 MiB/s, ETA ~14.0s');
  assert.is(formatProgress({ ...cold, filesUnsized: 40, bytesToHash: 0 }, 2000), 'hashing: 10/40 files, 1.0 GiB/?, 512 MiB/s');
});

test('summary: totals, hashed against cached, what was left out, the digest', () => {
  const stats = {
    files: 3, bytes: 2048, hashedFiles: 1, hashedBytes: 1024, cachedFiles: 2, cachedBytes: 1024,
    unrepresentable: ['a\nb'], skipped: { symlinks: 1, devices: 2, sockets: 0, fifos: 1, other: 0 },
    excluded: 4, links: { followed: 0, skipped: [] }, vanished: 0, durationMs: 1500, cache: { file: '/c', state: 'loaded' as const, written: true },
  };
  assert.is(
    formatSummary(stats, 'ab'.repeat(32)),
    [
      '3 files, 2.0 KiB in 1.5s: 1 hashed (1.0 KiB), 2 from cache (1.0 KiB)',
      'not listed (not regular files; Pulp serves only files): 1 symlink, 2 devices, 1 fifo',
      'excluded: 4 paths',
      '1 file left out: names Pulp cannot carry',
      `tree digest: sha256:${'ab'.repeat(32)}`,
    ].join('\n'),
  );
});

test.run();
