import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalManifest, treeDigest } from '../../manifest/digest.js';
import { scanTree, writeManifest, type ScanProgress } from '../../manifest/scan.js';
import { TreeNotFoundError } from '../../manifest/errors.js';
import { HashPool, type HashBatchOptions } from '../../manifest/hash-pool.js';
import { fsTypeOf, racyWindowFor } from '../../manifest/racy.js';
import { parseManifest } from '../../manifest/parse.js';
import { tempDir } from '../../testkit/cli.js';
import { BAD_NAMES, LISTED_FILES, NON_UTF8_REPORTED, buildOddTree, expectedManifest, sha256, writeFiles } from './fixture.js';

let dir = '';
let cleanup = async () => {};
let closeSocket = async () => {};

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-manifest-scan-'));
  fs.mkdirSync(path.join(dir, 'odd'));
  ({ close: closeSocket } = await buildOddTree(path.join(dir, 'odd')));
});

test.after(async () => {
  await closeSocket();
  await cleanup();
});

test('odd names: exact manifest, digest, and what was left out and why', async () => {
  const { entries, digest, stats } = await scanTree(path.join(dir, 'odd'), { cacheFile: false });
  const expected = expectedManifest();
  assert.fixture(canonicalManifest(entries), expected);
  assert.is(digest, sha256(expected));
  assert.is(digest, treeDigest(entries));
  // The emoji sorts after U+FF01 because UTF-8 order is not UTF-16 order.
  const iEmoji = entries.findIndex((e) => e.relativePath === 'x-\u{1F600}.txt');
  const iFull = entries.findIndex((e) => e.relativePath === 'x-\uFF01.txt');
  assert.ok(iFull >= 0 && iEmoji === iFull + 1, `fullwidth at ${iFull}, emoji at ${iEmoji}`);
  assert.equal(stats.unrepresentable, [...BAD_NAMES, NON_UTF8_REPORTED].sort());
  // link-to-file and link-to-dir are followed; dangling (-> /nonexistent) is named and counted.
  assert.equal(stats.skipped, { symlinks: 1, devices: 0, sockets: 1, fifos: 1, other: 0 });
  assert.equal(stats.links, { followed: 2, skipped: [{ relativePath: 'dangling', target: '/nonexistent', reason: 'dangling' }] });
  assert.is(stats.files, Object.keys(LISTED_FILES).length);
  assert.is(stats.bytes, Object.values(LISTED_FILES).reduce((n, c) => n + Buffer.byteLength(c), 0));
  assert.is(stats.hashedFiles, stats.files);
  assert.is(stats.cachedFiles, 0);
  assert.is(stats.excluded, 0);
  assert.equal(stats.cache, { file: null, state: 'disabled', written: false });
});

test('the manifest of the odd tree parses back to the same entries (the embedded site reads it)', async () => {
  const { entries } = await scanTree(path.join(dir, 'odd'), { cacheFile: false });
  assert.equal(parseManifest(canonicalManifest(entries)), entries);
  assert.equal(parseManifest(Buffer.from(canonicalManifest(entries))), entries);
});

test('the same manifest with one worker as with four', async () => {
  const one = await scanTree(path.join(dir, 'odd'), { cacheFile: false, workers: 1 });
  const four = await scanTree(path.join(dir, 'odd'), { cacheFile: false, workers: 4 });
  assert.is(one.digest, four.digest);
  assert.is(one.digest, sha256(expectedManifest()));
});

test('exclusions: names at any depth, paths from the root, whole directories; omit', async () => {
  const { entries, stats } = await scanTree(path.join(dir, 'odd'), {
    cacheFile: false,
    exclude: ['*.bin', 'ünïcödé', 'sub/**', '.hidden'],
    omit: ['plain.txt'],
  });
  const expected = { ...LISTED_FILES } as Record<string, string | Buffer>;
  for (const k of ['big.bin', 'nested/a/b/c/deep.bin', 'link-to-dir/a/b/c/deep.bin', 'ünïcödé/文件.txt', 'sub/#not-a-comment', '.hidden', 'plain.txt']) delete expected[k];
  assert.fixture(canonicalManifest(entries), expectedManifest(expected));
  // big.bin, deep.bin (twice: also below link-to-dir), the ünïcödé and sub directories (once
  // each), .hidden; omit is not counted.
  assert.is(stats.excluded, 6);
});

test('a cold scan (no stat in the walk) and a rescan (stat in the walk) list the same tree; progress ends sized', async () => {
  const files: Record<string, string | Buffer> = { 'big.bin': Buffer.alloc(9 * 1024 * 1024, 7) };
  // Deferred by the threads (≥ 512 KiB) and sent again together; more small files than one unsized batch holds.
  for (let i = 0; i < 3; i++) files[`mid/m${i}.bin`] = Buffer.alloc(600 * 1024 + i, i);
  for (let i = 0; i < 150; i++) files[`small/d${i % 7}/f${i}`] = `small ${i}`.repeat(i);
  const root = path.join(dir, 'cold');
  writeFiles(root, files);
  const cacheFile = path.join(dir, 'cold.cache');
  const seen: ScanProgress[] = [];
  const cold = await scanTree(root, { cacheFile, racyWindowMs: -60_000, workers: 2, onProgress: (p) => seen.push(p) });
  assert.fixture(cold.manifest, expectedManifest(files));
  const bytes = Object.values(files).reduce((n, c) => n + Buffer.byteLength(c), 0);
  assert.equal([cold.stats.hashedFiles, cold.stats.hashedBytes, cold.stats.cachedFiles], [154, bytes, 0]);
  const last = seen[seen.length - 1]!;
  assert.equal([last.filesUnsized, last.filesToHash, last.bytesToHash, last.filesHashed, last.bytesHashed], [0, 154, bytes, 154, bytes]);
  // One file rewritten: the rescan stats every file, hashes that one and lists the same tree.
  files['small/d0/f0'] = 'rewritten';
  writeFiles(root, { 'small/d0/f0': 'rewritten' });
  const again = await scanTree(root, { cacheFile, racyWindowMs: -60_000 });
  assert.equal([again.stats.hashedFiles, again.stats.cachedFiles], [1, 153]);
  assert.fixture(again.manifest, expectedManifest(files));
});

test('a cold scan reads a file once when its stamps predate the scan by the racy window, twice when it changed a moment ago', async () => {
  // Reads are counted where they start: every batch the scan sends to its pool.
  class CountingPool extends HashPool {
    batches: { files: number; unsized: boolean }[] = [];
    override hash(paths: string[], bytes: number, batch: HashBatchOptions = {}) {
      this.batches.push({ files: paths.length, unsized: batch.unsized === true });
      return super.hash(paths, bytes, batch);
    }
  }
  const root = path.join(dir, 'stamps');
  const files = { 'a.txt': 'a', 'sub/b.txt': 'bb', 'sub/c.txt': 'ccc' };
  writeFiles(root, files);
  const stamp = fs.statSync(path.join(root, 'a.txt'), { bigint: true });
  const windowMs = racyWindowFor({ type: fsTypeOf(root), dev: stamp.dev.toString() }, { mtimeNs: stamp.mtimeNs.toString(), ctimeNs: stamp.ctimeNs.toString(), dev: stamp.dev.toString() });
  const pool = new CountingPool({ workers: 1 });
  try {
    // Just written: no stamp can show that the read saw the whole file, so each is read again, sized.
    const fresh = await scanTree(root, { cacheFile: false, pool });
    assert.fixture(fresh.manifest, expectedManifest(files));
    assert.is(fresh.stats.hashedFiles, 3);
    // Unless this machine took the whole window to get there (the scan's start is before now).
    if (Date.now() - Number(stamp.ctimeNs / 1_000_000n) < windowMs - 20) {
      assert.equal(pool.batches, [{ files: 3, unsized: true }, { files: 1, unsized: false }, { files: 1, unsized: false }, { files: 1, unsized: false }]);
    }
    await new Promise((resolve) => setTimeout(resolve, windowMs + 50));
    pool.batches = [];
    const settled = await scanTree(root, { cacheFile: false, pool });
    assert.fixture(settled.manifest, expectedManifest(files));
    assert.equal(pool.batches, [{ files: 3, unsized: true }], 'read once each');
  } finally {
    await pool.close();
  }
});

test('a missing root or a file as root is TreeNotFoundError', async () => {
  for (const root of [path.join(dir, 'nope'), path.join(dir, 'odd', 'plain.txt')]) {
    try {
      await scanTree(root, { cacheFile: false });
      assert.unreachable('should have thrown');
    } catch (err) {
      assert.instance(err, TreeNotFoundError);
      assert.is((err as TreeNotFoundError).root, root);
    }
  }
});

test('a symlinked root is followed (its entries are not)', async () => {
  fs.mkdirSync(path.join(dir, 'small'));
  writeFiles(path.join(dir, 'small'), { 'a.txt': 'a' });
  fs.symlinkSync(path.join(dir, 'small'), path.join(dir, 'small-link'));
  const { entries } = await scanTree(path.join(dir, 'small-link'), { cacheFile: false });
  assert.fixture(canonicalManifest(entries), expectedManifest({ 'a.txt': 'a' }));
});

test('writeManifest writes the canonical text atomically, leaving no temp file', async () => {
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const entries = [
    { relativePath: 'b', sha256: sha256('b'), size: 1 },
    { relativePath: 'a', sha256: sha256('a'), size: 1 },
  ];
  const file = path.join(out, 'PULP_MANIFEST');
  assert.is(await writeManifest(file, entries), true);
  assert.is(fs.readFileSync(file, 'utf8'), `a,${sha256('a')},1\nb,${sha256('b')},1\n`);
  assert.equal(fs.readdirSync(out), ['PULP_MANIFEST']);
  // The same text again: the file is left alone (same inode, so no rename happened).
  const ino = fs.statSync(file).ino;
  assert.is(await writeManifest(file, entries.slice().reverse()), false);
  assert.is(fs.statSync(file).ino, ino);
  // Different text of the same length is written.
  assert.is(await writeManifest(file, [{ ...entries[0]!, sha256: sha256('c') }, entries[1]!]), true);
  assert.is(fs.readFileSync(file, 'utf8'), `a,${sha256('a')},1\nb,${sha256('c')},1\n`);
  assert.is.not(fs.statSync(file).ino, ino);
});

test('an aborted scan rejects with the reason and leaves nothing running', async () => {
  const ac = new AbortController();
  const reason = new Error('stop now');
  const p = scanTree(path.join(dir, 'odd'), {
    cacheFile: false,
    signal: ac.signal,
    onProgress: () => ac.abort(reason),
  });
  ac.signal.addEventListener('abort', () => {});
  setImmediate(() => ac.abort(reason));
  try {
    await p;
    assert.unreachable('should have rejected');
  } catch (err) {
    assert.is(err, reason);
  }
});

test.run();
