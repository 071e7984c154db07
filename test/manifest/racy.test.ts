import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCache } from '../../manifest/cache.js';
import { HashPool } from '../../manifest/hash-pool.js';
import { DEFAULT_RACY_WINDOW_MS, LOCAL_CLOCK_FS_TYPES, LOCAL_RACY_WINDOW_MS, fsTypeOf, racyWindowFor } from '../../manifest/racy.js';
import { scanTree } from '../../manifest/scan.js';
import { tempDir } from '../../testkit/cli.js';

const EXT4 = 0xef53;
const NFS = 0x6969;
const FUSE = 0x65735546;
const root = { type: EXT4, dev: '2049' };
const sub = { mtimeNs: '1700000000123456789', ctimeNs: '1700000000123456789', dev: '2049' };

test('racyWindowFor: local clock, sub-second stamps and the root device give the short window', () => {
  assert.is(racyWindowFor(root, sub), LOCAL_RACY_WINDOW_MS);
  for (const type of LOCAL_CLOCK_FS_TYPES.keys()) assert.is(racyWindowFor({ type, dev: '7' }, { ...sub, dev: '7' }), LOCAL_RACY_WINDOW_MS, type.toString(16));
  // One sub-second stamp is enough: mtime set to a whole second by rsync -t or touch -d, ctime from the kernel.
  assert.is(racyWindowFor(root, { ...sub, mtimeNs: '1700000000000000000' }), LOCAL_RACY_WINDOW_MS);
  assert.is(racyWindowFor(root, { ...sub, ctimeNs: '1700000000000000000' }), LOCAL_RACY_WINDOW_MS);
  assert.is(racyWindowFor(root, { ...sub, mtimeNs: '5', ctimeNs: '0' }), LOCAL_RACY_WINDOW_MS);
});

test('racyWindowFor: anything in doubt keeps the 2 s window', () => {
  assert.is(DEFAULT_RACY_WINDOW_MS, 2000);
  // Network and FUSE filesystems, unknown types, statfs failing.
  for (const type of [NFS, FUSE, 0x517b /* smb */, 0x00c36400 /* ceph */, 0x12345678, undefined]) {
    assert.is(racyWindowFor({ type, dev: '2049' }, sub), DEFAULT_RACY_WINDOW_MS, String(type));
  }
  // Whole-second stamps (ext3 with small inodes, FAT, a 1 s granularity server behind a local type).
  assert.is(racyWindowFor(root, { ...sub, mtimeNs: '1700000000000000000', ctimeNs: '1700000001000000000' }), DEFAULT_RACY_WINDOW_MS);
  assert.is(racyWindowFor(root, { ...sub, mtimeNs: '0', ctimeNs: '0' }), DEFAULT_RACY_WINDOW_MS);
  assert.is(racyWindowFor(root, { ...sub, mtimeNs: '-1000000000', ctimeNs: '0' }), DEFAULT_RACY_WINDOW_MS);
  // Another device below the root: a mount inside the tree may be NFS.
  assert.is(racyWindowFor(root, { ...sub, dev: '2050' }), DEFAULT_RACY_WINDOW_MS);
});

test('fsTypeOf: the statfs type of a directory, undefined when statfs fails', () => {
  assert.type(fsTypeOf(process.cwd()), 'number');
  assert.is(fsTypeOf('/nonexistent/pulpdist-racy-test'), undefined);
});

/** mtime and ctime of a file in milliseconds (the later of the two). */
function stampMs(file: string): number {
  const st = fs.statSync(file, { bigint: true });
  return Number((st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs) / 1_000_000n);
}

/**
 * Run `attempt` in a new tree (and cache path) under `dir` until it returns true, 8 times at most: a
 * loaded machine may stretch a scan past the short window, and such an attempt (false) proves
 * nothing either way.
 */
async function inFreshTrees(dir: string, attempt: (tree: string, cache: string) => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 8; i++) {
    const tree = path.join(dir, `t${i}`);
    fs.mkdirSync(tree);
    if (await attempt(tree, path.join(dir, `t${i}.cache`))) return;
  }
  assert.unreachable('every attempt was stretched past the window by load');
}

test('on this machine: a file written 250 ms before a scan is cached by it, one written just before is not', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-manifest-racy-');
  // A warm pool: the scan then takes milliseconds, so "just before" stays inside the short window.
  const pool = new HashPool({ workers: 1 });
  try {
    const local = LOCAL_CLOCK_FS_TYPES.has(fsTypeOf(dir) ?? -1);
    const warm = path.join(dir, 'warm');
    fs.mkdirSync(warm);
    fs.writeFileSync(path.join(warm, 'f'), 'warm');
    await scanTree(warm, { cacheFile: false, pool });
    await inFreshTrees(dir, async (tree, cache) => {
      fs.writeFileSync(path.join(tree, 'old'), 'written a moment ago');
      const oldMs = stampMs(path.join(tree, 'old'));
      const wait = oldMs + 250 - Date.now();
      if (wait > 0) await delay(wait);
      fs.writeFileSync(path.join(tree, 'fresh'), 'written just now');
      const freshMs = stampMs(path.join(tree, 'fresh'));
      const first = await scanTree(tree, { cacheFile: cache, pool });
      const end = Date.now();
      // The scan's start lies before `end`: it saw `old` under 2 s old and `fresh` under 100 ms old.
      if (end - oldMs >= DEFAULT_RACY_WINDOW_MS || end - freshMs >= LOCAL_RACY_WINDOW_MS) return false;
      assert.is(first.stats.hashedFiles, 2);
      const cached = [...parseCache(fs.readFileSync(cache)).records].map(([rel]) => rel);
      if (!local) {
        // Not a local-clock filesystem: the 2 s window holds for both.
        assert.equal(cached, []);
        return true;
      }
      assert.equal(cached, ['old']);
      const again = await scanTree(tree, { cacheFile: cache, pool });
      assert.equal([again.stats.hashedFiles, again.stats.cachedFiles], [1, 1]);
      // An explicit window still wins: with a minute, neither file is cached.
      const explicitCache = `${cache}-explicit`;
      const explicit = await scanTree(tree, { cacheFile: explicitCache, pool, racyWindowMs: 60_000 });
      assert.is(explicit.stats.hashedFiles, 2);
      assert.equal([...parseCache(fs.readFileSync(explicitCache)).records], []);
      return true;
    });
  } finally {
    await pool.close();
    await cleanup();
  }
});

test('on this machine: a rescan that finds a file changed a moment ago hashes it once the short window has passed, and caches it', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-manifest-fresh-');
  const pool = new HashPool({ workers: 1 });
  try {
    if (!LOCAL_CLOCK_FS_TYPES.has(fsTypeOf(dir) ?? -1)) return; // no short window there: nothing waits
    await inFreshTrees(dir, async (tree, cache) => {
      fs.writeFileSync(path.join(tree, 'kept'), 'unchanged');
      fs.writeFileSync(path.join(tree, 'log'), 'first line\n');
      await delay(LOCAL_RACY_WINDOW_MS + 50);
      assert.is((await scanTree(tree, { cacheFile: cache, pool })).stats.hashedFiles, 2);
      fs.appendFileSync(path.join(tree, 'log'), 'second line\n');
      // Only a rescan that starts inside the window shows the wait; a loaded machine may miss it.
      if (Date.now() - stampMs(path.join(tree, 'log')) >= LOCAL_RACY_WINDOW_MS / 2) return false;
      const rescan = await scanTree(tree, { cacheFile: cache, pool });
      assert.equal([rescan.stats.hashedFiles, rescan.stats.cachedFiles], [1, 1]);
      assert.equal([...parseCache(fs.readFileSync(cache)).records].map(([rel]) => rel).sort(), ['kept', 'log']);
      const again = await scanTree(tree, { cacheFile: cache, pool });
      assert.equal([again.stats.hashedFiles, again.stats.cachedFiles], [0, 2]);
      assert.is(again.digest, rescan.digest);
      return true;
    });
  } finally {
    await pool.close();
    await cleanup();
  }
});

test.run();
