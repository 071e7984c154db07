import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalManifest, treeDigest } from '../../manifest/digest.js';
import { defaultCacheFile, formatCache, parseCache } from '../../manifest/cache.js';
import { scanTree } from '../../manifest/scan.js';
import { tempDir } from '../../testkit/cli.js';
import { expectedManifest, writeFiles } from './fixture.js';

let dir = '';
let cleanup = async () => {};
test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-manifest-rescan-'));
});
test.after(async () => {
  await cleanup();
});

const FILES = { 'a.txt': 'aaaa', 'd/b.txt': 'bbbbbb', 'd/e/c.txt': 'c', 'z,y.txt': 'zy' };
// Files in these tests were all written just now; with the default 2 s racy window none would be
// cached, so the cache tests move the window a minute into the future (it has its own test below).
const NOW = { racyWindowMs: -60_000 };

function freshTree(name: string, files: Record<string, string> = FILES): { root: string; cache: string } {
  const root = path.join(dir, name);
  fs.mkdirSync(root);
  writeFiles(root, files);
  return { root, cache: path.join(dir, `${name}.cache`) };
}

test('an unchanged rescan reads nothing and does not rewrite the cache', async () => {
  const { root, cache } = freshTree('unchanged');
  const first = await scanTree(root, { cacheFile: cache, ...NOW });
  assert.equal([first.stats.hashedFiles, first.stats.cachedFiles], [4, 0]);
  assert.equal(first.stats.cache, { file: cache, state: 'missing', written: true });
  const mtime = fs.statSync(cache).mtimeMs;
  const again = await scanTree(root, { cacheFile: cache, ...NOW });
  assert.equal([again.stats.hashedFiles, again.stats.cachedFiles, again.stats.cachedBytes], [0, 4, 13]);
  assert.equal(again.stats.cache, { file: cache, state: 'loaded', written: false });
  assert.is(fs.statSync(cache).mtimeMs, mtime);
  assert.is(again.digest, first.digest);
  assert.fixture(canonicalManifest(again.entries), expectedManifest(FILES));
});

test('the tree digest a rescan takes from the cache is the digest of what it lists, and only then', async () => {
  const { root, cache } = freshTree('digest');
  const first = await scanTree(root, { cacheFile: cache, ...NOW });
  // Every file cached: the cache names their manifest's digest, and an unchanged rescan reuses it.
  assert.ok(fs.readFileSync(cache, 'utf8').includes(`\nmanifest ${first.digest}\n`));
  const again = await scanTree(root, { cacheFile: cache, ...NOW });
  assert.is(again.stats.cachedFiles, 4);
  assert.is(again.digest, treeDigest(again.entries));
  assert.fixture(again.manifest, expectedManifest(FILES));
  // A file removed: every entry still comes from the cache, but the cache holds one more record.
  fs.rmSync(path.join(root, 'a.txt'));
  const removed = await scanTree(root, { cacheFile: cache, ...NOW });
  assert.equal([removed.stats.hashedFiles, removed.stats.cachedFiles], [0, 3]);
  assert.is.not(removed.digest, first.digest);
  assert.is(removed.digest, treeDigest(removed.entries));
  assert.fixture(removed.manifest, expectedManifest({ 'd/b.txt': 'bbbbbb', 'd/e/c.txt': 'c', 'z,y.txt': 'zy' }));
  // Excluded now: the walk lists fewer files than the cache holds, so the digest is computed again.
  const excluded = await scanTree(root, { cacheFile: cache, exclude: ['z,y.txt'], ...NOW });
  assert.is(excluded.digest, treeDigest(excluded.entries));
  assert.fixture(excluded.manifest, expectedManifest({ 'd/b.txt': 'bbbbbb', 'd/e/c.txt': 'c' }));
  // A cache without the digest line (as an older pulpdist wrote it) gets it on the next rescan.
  const text = fs.readFileSync(cache, 'utf8');
  fs.writeFileSync(cache, formatCache(root, new Map([...parseCache(text).records])));
  const upgraded = await scanTree(root, { cacheFile: cache, exclude: ['z,y.txt'], ...NOW });
  assert.equal([upgraded.stats.cache.written, upgraded.stats.hashedFiles], [true, 0]);
  assert.is(parseCache(fs.readFileSync(cache)).manifestDigest, treeDigest(upgraded.entries));
  // A file not cached (written inside the racy window) keeps the digest out of the cache.
  const racy = freshTree('digest-racy');
  await scanTree(racy.root, { cacheFile: racy.cache, racyWindowMs: 60_000 });
  assert.not.ok(fs.readFileSync(racy.cache, 'utf8').includes('\nmanifest '));
});

test('a rewrite in place with the same size and mtime is caught (ctime changed)', async () => {
  const { root, cache } = freshTree('inplace');
  const file = path.join(root, 'd', 'b.txt');
  fs.utimesSync(file, 1_600_000_000, 1_600_000_000);
  const before = fs.statSync(file, { bigint: true });
  await scanTree(root, { cacheFile: cache, ...NOW });
  // Same size, mtime put back exactly: only ctime (and the content) differ.
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, 'BBBBBB', 0);
  fs.closeSync(fd);
  fs.utimesSync(file, 1_600_000_000, 1_600_000_000);
  const after = fs.statSync(file, { bigint: true });
  assert.is(after.size, before.size);
  assert.is(after.mtimeNs, before.mtimeNs);
  assert.is(after.ino, before.ino);
  const r = await scanTree(root, { cacheFile: cache, ...NOW });
  assert.equal([r.stats.hashedFiles, r.stats.cachedFiles], [1, 3]);
  assert.fixture(canonicalManifest(r.entries), expectedManifest({ ...FILES, 'd/b.txt': 'BBBBBB' }));
});

test('a file replaced by rename with the same size and mtime is caught (inode changed)', async () => {
  const { root, cache } = freshTree('renamed');
  const file = path.join(root, 'a.txt');
  fs.utimesSync(file, 1_600_000_000, 1_600_000_000);
  await scanTree(root, { cacheFile: cache, ...NOW });
  fs.writeFileSync(path.join(root, '.a.tmp'), 'AAAA');
  fs.utimesSync(path.join(root, '.a.tmp'), 1_600_000_000, 1_600_000_000);
  fs.renameSync(path.join(root, '.a.tmp'), file);
  const r = await scanTree(root, { cacheFile: cache, ...NOW });
  assert.equal([r.stats.hashedFiles, r.stats.cachedFiles], [1, 3]);
  assert.fixture(canonicalManifest(r.entries), expectedManifest({ ...FILES, 'a.txt': 'AAAA' }));
});

test('after an add and a delete: only the new file is read; the deleted one leaves manifest and cache', async () => {
  const { root, cache } = freshTree('adddel');
  await scanTree(root, { cacheFile: cache, ...NOW });
  fs.writeFileSync(path.join(root, 'd', 'new.txt'), 'new!');
  fs.rmSync(path.join(root, 'd', 'e', 'c.txt'));
  const r = await scanTree(root, { cacheFile: cache, ...NOW });
  assert.equal([r.stats.hashedFiles, r.stats.cachedFiles], [1, 3]);
  const { 'd/e/c.txt': _gone, ...rest } = FILES;
  assert.fixture(canonicalManifest(r.entries), expectedManifest({ ...rest, 'd/new.txt': 'new!' }));
  const cached = fs.readFileSync(cache, 'utf8');
  assert.not.match(cached, /d\/e\/c\.txt/);
  assert.match(cached, /\0d\/new\.txt\n/);
  // A third scan finds everything in the cache.
  const third = await scanTree(root, { cacheFile: cache, ...NOW });
  assert.equal([third.stats.hashedFiles, third.stats.cachedFiles], [0, 4]);
});

test('a torn cache is ignored, rebuilt, and never trusted', async () => {
  const { root, cache } = freshTree('torn');
  await scanTree(root, { cacheFile: cache, ...NOW });
  const good = fs.readFileSync(cache);
  // Torn mid-write: the first half of the file only.
  fs.writeFileSync(cache, good.subarray(0, Math.floor(good.length / 2)));
  let r = await scanTree(root, { cacheFile: cache, ...NOW });
  assert.equal([r.stats.cache.state, r.stats.cache.written, r.stats.hashedFiles], ['corrupt', true, 4]);
  assert.is(fs.readFileSync(cache, 'utf8'), good.toString('utf8'));
  // A wrong digest inside an otherwise complete file: the checksum line no longer matches.
  const text = good.toString('utf8');
  const firstSha = text.split('\n')[1]!.slice(0, 64);
  const forged = text.replace(firstSha, firstSha.slice(0, 63) + (firstSha[63] === '0' ? '1' : '0'));
  assert.is.not(forged, text);
  fs.writeFileSync(cache, forged);
  r = await scanTree(root, { cacheFile: cache, ...NOW });
  assert.equal([r.stats.cache.state, r.stats.hashedFiles], ['corrupt', 4]);
  assert.fixture(canonicalManifest(r.entries), expectedManifest(FILES));
  // Garbage and an empty file are ignored the same way.
  for (const junk of ['', 'not a cache at all\n']) {
    fs.writeFileSync(cache, junk);
    r = await scanTree(root, { cacheFile: cache, ...NOW });
    assert.equal([r.stats.cache.state, r.stats.hashedFiles], ['corrupt', 4]);
  }
});

test('files changed within the racy window are hashed but not cached', async () => {
  const { root, cache } = freshTree('racy');
  const old = path.join(root, 'a.txt');
  const first = await scanTree(root, { cacheFile: cache, racyWindowMs: 60_000 });
  assert.is(first.stats.hashedFiles, 4);
  const again = await scanTree(root, { cacheFile: cache, racyWindowMs: 60_000 });
  assert.equal([again.stats.hashedFiles, again.stats.cachedFiles], [4, 0]);
  assert.ok(fs.existsSync(old));
  // Once old enough (simulated by a window that ends in the future) they are cached.
  await scanTree(root, { cacheFile: cache, ...NOW });
  const settled = await scanTree(root, { cacheFile: cache, ...NOW });
  assert.equal([settled.stats.hashedFiles, settled.stats.cachedFiles], [0, 4]);
});

test('the default cache lives under XDG_CACHE_HOME, one file per real tree path', async () => {
  const { root } = freshTree('xdg');
  const xdg = path.join(dir, 'xdg-cache');
  const env = { XDG_CACHE_HOME: xdg, HOME: path.join(dir, 'home') };
  const r = await scanTree(root, { env, ...NOW });
  const expected = defaultCacheFile(fs.realpathSync(root), env);
  assert.is(r.stats.cache.file, expected);
  assert.ok(expected.startsWith(path.join(xdg, 'pulpdist') + path.sep), expected);
  assert.ok(fs.existsSync(expected));
  assert.is(fs.statSync(expected).mode & 0o777, 0o600);
  // A relative XDG_CACHE_HOME is invalid (XDG spec): ~/.cache is used instead.
  assert.ok(defaultCacheFile('/t', { XDG_CACHE_HOME: 'rel', HOME: '/h' }).startsWith('/h/.cache/pulpdist/'));
  assert.is.not(defaultCacheFile('/t1', env), defaultCacheFile('/t2', env));
});

test.run();
