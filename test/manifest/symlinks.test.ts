/**
 * Symlinks in a Fedora-like tree: `latest -> 40`, a file link, links that dangle, leave the tree or
 * loop, under each policy. Expected manifests are computed here from the bytes written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalManifest } from '../../manifest/digest.js';
import { SymlinkError } from '../../manifest/errors.js';
import { formatSkippedLink, formatSummary } from '../../manifest/report.js';
import { scanTree } from '../../manifest/scan.js';
import { MAX_LINK_DEPTH } from '../../manifest/walk.js';
import { tempDir } from '../../testkit/cli.js';
import { expectedManifest, writeFiles } from './fixture.js';

let dir = '';
let root = '';
let cleanup = async () => {};

/** The real files of the tree. */
const FILES: Record<string, string> = {
  '40/Everything/x86_64/os/Packages/b/bash-5.2.rpm': 'bash rpm bytes',
  '40/Everything/x86_64/os/repodata/repomd.xml': '<repomd/>',
  '40/Everything/x86_64/os/file1.bin': 'file one',
  '39/README': 'old release',
  'fullfilelist': 'the file list',
};

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-manifest-links-'));
  root = path.join(dir, 'fedora');
  writeFiles(root, FILES);
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'outside the tree');
  fs.symlinkSync('40', path.join(root, 'latest')); // a directory link
  fs.symlinkSync('Everything/x86_64/os/file1.bin', path.join(root, '40', 'file1.bin')); // a file link
  fs.symlinkSync('../../fullfilelist', path.join(root, '40', 'Everything', 'filelist')); // a file link going up
  fs.symlinkSync('does-not-exist', path.join(root, 'dangling'));
  fs.symlinkSync('../secret.txt', path.join(root, 'escape')); // leaves the tree
  fs.symlinkSync('..', path.join(root, '39', 'up')); // a cycle: the root again
  fs.symlinkSync('loop-b', path.join(root, 'loop-a')); // a link loop (ELOOP)
  fs.symlinkSync('loop-a', path.join(root, 'loop-b'));
});

test.after(async () => {
  await cleanup();
});

/** What `follow` must list: the files, plus each followed link's content at its own path. */
function followed(): Record<string, string> {
  const out: Record<string, string> = { ...FILES };
  out['40/file1.bin'] = FILES['40/Everything/x86_64/os/file1.bin']!;
  out['40/Everything/filelist'] = FILES['fullfilelist']!;
  // latest -> 40: every path under 40/ again under latest/, links inside 40 included.
  for (const [p, c] of Object.entries(out)) if (p.startsWith('40/')) out['latest/' + p.slice(3)] = c;
  return out;
}

test('follow (the default): links inside the tree listed at their own paths; the rest named', async () => {
  const { entries, stats } = await scanTree(root, { cacheFile: false });
  assert.fixture(canonicalManifest(entries), expectedManifest(followed()));
  // latest, 40/file1.bin, 40/Everything/filelist, and the two file links again below latest/.
  assert.is(stats.links.followed, 5);
  assert.equal(
    stats.links.skipped.map((l) => [l.relativePath, l.reason, l.target]),
    [
      ['39/up', 'cycle', '..'],
      ['dangling', 'dangling', 'does-not-exist'],
      ['escape', 'outside', '../secret.txt'],
      ['loop-a', 'cycle', 'loop-b'],
      ['loop-b', 'cycle', 'loop-a'],
    ],
  );
  assert.is(stats.skipped.symlinks, 5);
  assert.not.ok(entries.some((e) => e.relativePath === 'escape'), 'nothing from outside the tree');
  assert.match(formatSummary(stats, 'ab'.repeat(32)), /symlinks: 5 followed, 5 left out/);
  assert.is(formatSkippedLink(stats.links.skipped[2]!), 'warning: left out symlink "escape" -> "../secret.txt": its target is outside the tree');
});

test('skip: no link followed, all counted', async () => {
  const { entries, stats } = await scanTree(root, { cacheFile: false, symlinks: 'skip' });
  assert.fixture(canonicalManifest(entries), expectedManifest(FILES));
  assert.equal(stats.links, { followed: 0, skipped: [] });
  assert.is(stats.skipped.symlinks, 8);
});

test('strict: a link that dangles, leaves the tree or loops fails the scan, naming each', async () => {
  try {
    await scanTree(root, { cacheFile: false, symlinks: 'strict' });
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, SymlinkError);
    assert.equal((err as SymlinkError).links.map((l) => l.relativePath), ['39/up', 'dangling', 'escape', 'loop-a', 'loop-b']);
    assert.match((err as Error).message, /5 symlinks under .* cannot be followed: "39\/up" \(cycle -> "\.\."\)/);
  }
  const clean = path.join(dir, 'clean');
  writeFiles(clean, { 'a/x.txt': 'x' });
  fs.symlinkSync('a', path.join(clean, 'b'));
  const { entries } = await scanTree(clean, { cacheFile: false, symlinks: 'strict' });
  assert.fixture(canonicalManifest(entries), expectedManifest({ 'a/x.txt': 'x', 'b/x.txt': 'x' }));
});

test('two directories linking to each other: each walked once below the other, then cut', async () => {
  const t = path.join(dir, 'mutual');
  writeFiles(t, { 'a/1': 'one', 'b/2': 'two' });
  fs.symlinkSync('../b', path.join(t, 'a', 'to-b'));
  fs.symlinkSync('../a', path.join(t, 'b', 'to-a'));
  const { entries, stats } = await scanTree(t, { cacheFile: false });
  assert.fixture(canonicalManifest(entries), expectedManifest({ 'a/1': 'one', 'a/to-b/2': 'two', 'b/2': 'two', 'b/to-a/1': 'one' }));
  assert.equal(stats.links.skipped.map((l) => [l.relativePath, l.reason]), [['a/to-b/to-a', 'cycle'], ['b/to-a/to-b', 'cycle']]);
});

test('directory links nested deeper than the bound are cut and named', async () => {
  const t = path.join(dir, 'deep');
  // d0/next -> ../d1, d1/next -> ../d2, …: a chain without a loop, longer than the bound.
  for (let i = 0; i <= MAX_LINK_DEPTH + 1; i++) writeFiles(t, { [`d${i}/f`]: String(i) });
  for (let i = 0; i <= MAX_LINK_DEPTH; i++) fs.symlinkSync(`../d${i + 1}`, path.join(t, `d${i}`, 'next'));
  const { stats } = await scanTree(t, { cacheFile: false });
  const deep = stats.links.skipped.filter((l) => l.reason === 'too-deep');
  assert.ok(deep.length > 0, 'some link was cut');
  assert.ok(deep.every((l) => l.relativePath.split('/next').length - 1 === MAX_LINK_DEPTH + 1), JSON.stringify(deep));
});

test('a rescan reads nothing again; retargeting a file link is seen', async () => {
  const t = path.join(dir, 'rescan');
  writeFiles(t, { 'a.txt': 'aaa', 'b.txt': 'bbbb' });
  fs.symlinkSync('a.txt', path.join(t, 'cur'));
  const cacheFile = path.join(dir, 'rescan.cache');
  const first = await scanTree(t, { cacheFile, racyWindowMs: -1000 });
  assert.fixture(canonicalManifest(first.entries), expectedManifest({ 'a.txt': 'aaa', 'b.txt': 'bbbb', cur: 'aaa' }));
  const again = await scanTree(t, { cacheFile, racyWindowMs: -1000 });
  assert.is(again.stats.hashedFiles, 0);
  assert.is(again.digest, first.digest);
  fs.unlinkSync(path.join(t, 'cur'));
  fs.symlinkSync('b.txt', path.join(t, 'cur'));
  const moved = await scanTree(t, { cacheFile, racyWindowMs: -1000 });
  assert.fixture(canonicalManifest(moved.entries), expectedManifest({ 'a.txt': 'aaa', 'b.txt': 'bbbb', cur: 'bbbb' }));
});

test('link targets resolved as the kernel does: `..` after a directory link, `/` at the end, `.`, absolute, chains', async () => {
  const t = path.join(dir, 'resolve');
  writeFiles(t, { 'deep/inner/x.txt': 'x', 'deep/y.txt': 'y', 'top.txt': 'top', 'd/z.txt': 'z' });
  // `via` is a link to deep/inner: via/../y.txt is deep/y.txt on disk, not ./y.txt (which does not exist).
  fs.symlinkSync('deep/inner', path.join(t, 'via'));
  fs.symlinkSync('via/../y.txt', path.join(t, 'physical'));
  // A trailing slash on a file's name: not a directory, so the link dangles.
  fs.symlinkSync('top.txt/', path.join(t, 'slash'));
  // `.`-ended and absolute targets, and a chain of two links to a file.
  fs.symlinkSync('d/.', path.join(t, 'dot'));
  fs.symlinkSync(path.join(t, 'top.txt'), path.join(t, 'absolute'));
  fs.symlinkSync('absolute', path.join(t, 'chain'));
  const { entries, stats } = await scanTree(t, { cacheFile: false });
  assert.fixture(
    canonicalManifest(entries),
    expectedManifest({
      'deep/inner/x.txt': 'x',
      'deep/y.txt': 'y',
      'top.txt': 'top',
      'd/z.txt': 'z',
      'via/x.txt': 'x',
      physical: 'y',
      'dot/z.txt': 'z',
      absolute: 'top',
      chain: 'top',
    }),
  );
  assert.equal(stats.links.skipped.map((l) => [l.relativePath, l.reason]), [['slash', 'dangling']]);
});

test('a bad policy is a ScanOptionError', async () => {
  try {
    await scanTree(root, { cacheFile: false, symlinks: 'always' as never });
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'ScanOptionError');
    assert.match((err as Error).message, /`symlinks` must be one of follow, strict, skip, got "always"/);
  }
});

test.run();
