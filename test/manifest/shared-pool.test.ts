/**
 * One hash pool shared by many concurrent scans (the controller reads hundreds of small source
 * trees per pass): right digests for every tree, a bounded number of threads, an aborted scan
 * that leaves the others alone, and a pool whose thread died that still serves the next batch
 * (and sends once more the batches the dead thread held).
 */
import { execFileSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HashPool, HashWorkerError } from '../../manifest/hash-pool.js';
import { DEFER_BYTES } from '../../manifest/hash-protocol.js';
import { scanTree } from '../../manifest/scan.js';
import { tempDir } from '../../testkit/cli.js';
import { expectedManifest, sha256 } from './fixture.js';

let dir = '';
let cleanup = async () => {};
const TREES = 40;
const filesOf = (i: number): Record<string, string> => ({ 'a.bin': `tree ${i} a`, 'sub/b.bin': `tree ${i} b`.repeat(i + 1), 'c.bin': '' });

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-manifest-pool-'));
  for (let i = 0; i < TREES; i++) {
    for (const [rel, content] of Object.entries(filesOf(i))) {
      const f = path.join(dir, `t${i}`, rel);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, content);
    }
  }
});

test.after(async () => {
  await cleanup();
});

test('40 concurrent scans on one pool of 2 threads: every digest right, never more than 2 threads', async () => {
  const pool = new HashPool({ workers: 2 });
  let maxThreads = 0;
  try {
    const results = await Promise.all(
      Array.from({ length: TREES }, async (_, i) => {
        const r = await scanTree(path.join(dir, `t${i}`), { cacheFile: false, pool, workers: 2 });
        maxThreads = Math.max(maxThreads, pool.threads);
        return r;
      }),
    );
    for (let i = 0; i < TREES; i++) {
      assert.is(results[i]!.digest, sha256(expectedManifest(filesOf(i))), `tree ${i}`);
      assert.is(results[i]!.stats.hashedFiles, 3);
    }
    assert.ok(maxThreads >= 1 && maxThreads <= 2, `threads: ${maxThreads}`);
    assert.is(pool.inFlight, 0);
  } finally {
    await pool.close();
  }
  assert.is(pool.threads, 0);
});

test('an aborted scan rejects with its reason; the other scans on the pool finish right', async () => {
  const pool = new HashPool({ workers: 2 });
  try {
    const ac = new AbortController();
    const reason = new Error('stop this one');
    const doomed = scanTree(path.join(dir, 't1'), { cacheFile: false, pool, signal: ac.signal }).then(() => null, (e: unknown) => e);
    ac.abort(reason);
    const others = await Promise.all([2, 3, 4].map((i) => scanTree(path.join(dir, `t${i}`), { cacheFile: false, pool })));
    assert.is(await doomed, reason);
    assert.equal(others.map((r) => r.digest), [2, 3, 4].map((i) => sha256(expectedManifest(filesOf(i)))));
    // The pool still works after the abort.
    const again = await scanTree(path.join(dir, 't1'), { cacheFile: false, pool });
    assert.is(again.digest, sha256(expectedManifest(filesOf(1))));
  } finally {
    await pool.close();
  }
});

test('batches that share a signal put one listener on it, and none once answered (Node warns at 11)', async () => {
  const pool = new HashPool({ workers: 2 });
  const ac = new AbortController();
  let most = 0;
  const sample = setInterval(() => (most = Math.max(most, getEventListeners(ac.signal, 'abort').length)), 0);
  try {
    const hashes = Array.from({ length: 30 }, (_, i) => pool.hash([path.join(dir, `t${i}`, 'sub', 'b.bin')], 1, { signal: ac.signal }));
    most = Math.max(most, getEventListeners(ac.signal, 'abort').length);
    const results = await Promise.all(hashes);
    assert.equal(results.map(([r]) => (r && 'sha256' in r ? r.sha256 : 'failed')), Array.from({ length: 30 }, (_, i) => sha256(`tree ${i} b`.repeat(i + 1))));
    assert.is(most, 1, 'listeners on the shared signal while the batches were out');
    assert.is(getEventListeners(ac.signal, 'abort').length, 0);
    // Aborting it now rejects a new batch at once, and an earlier abort rejected every batch it held.
    const held = [pool.hash([path.join(dir, 't1', 'a.bin')], 1, { signal: ac.signal }), pool.hash([path.join(dir, 't2', 'a.bin')], 1, { signal: ac.signal })];
    const reason = new Error('stopped');
    ac.abort(reason);
    assert.equal(await Promise.all(held.map((h) => h.then(() => null, (e: unknown) => e))), [reason, reason]);
    assert.is(await pool.hash([path.join(dir, 't1', 'a.bin')], 1, { signal: ac.signal }).then(() => null, (e: unknown) => e), reason);
  } finally {
    clearInterval(sample);
    await pool.close();
  }
});

test('a scan with its own pool (none given) still gives the same digest', async () => {
  const own = await scanTree(path.join(dir, 't5'), { cacheFile: false, workers: 1 });
  assert.is(own.digest, sha256(expectedManifest(filesOf(5))));
});

test('a thread that dies fails only its own batch; the next batch gets a fresh thread', async () => {
  const pool = new HashPool({ workers: 1 });
  try {
    // A request the thread cannot read throws inside it: the thread dies with an uncaught error.
    const err = await pool.hash(null as unknown as string[], 0).then(() => null, (e: unknown) => e);
    assert.instance(err, HashWorkerError);
    assert.match((err as Error).message, /a hashing thread (failed|exited)/);
    assert.is(pool.threads, 0);
    const [r] = await pool.hash([path.join(dir, 't0', 'a.bin')], 8);
    assert.ok(r && 'sha256' in r, JSON.stringify(r));
    assert.is((r as { sha256: string }).sha256, sha256('tree 0 a'));
    const scan = await scanTree(path.join(dir, 't3'), { cacheFile: false, pool });
    assert.is(scan.digest, sha256(expectedManifest(filesOf(3))));
  } finally {
    await pool.close();
  }
});

test('a batch queued behind one that kills the thread is sent again to a fresh thread and answered', async () => {
  const pool = new HashPool({ workers: 1 });
  try {
    let progress = 0;
    // Both go to the one thread, in order: the first kills it before the second is read.
    const bad = pool.hash(null as unknown as string[], 0).then(() => null, (e: unknown) => e);
    const good = pool.hash([path.join(dir, 't2', 'a.bin'), path.join(dir, 't2', 'c.bin')], 10, { onBytes: (n) => (progress += n) });
    const [err, results] = await Promise.all([bad, good]);
    assert.instance(err, HashWorkerError, 'the batch that kills its thread twice fails');
    assert.ok((err as HashWorkerError).threadLost);
    assert.equal(results.map((r) => ('sha256' in r ? r.sha256 : 'error' in r ? r.error : 'deferred')), [sha256('tree 2 a'), sha256('')]);
    assert.is(progress, Buffer.byteLength('tree 2 a'), 'bytes counted once');
  } finally {
    await pool.close();
  }
});

test('an unsized batch: stats taken by the thread, large files deferred unread, non-files refused', async () => {
  const u = path.join(dir, 'unsized');
  fs.mkdirSync(path.join(u, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(u, 'small'), 'small');
  fs.writeFileSync(path.join(u, 'edge'), Buffer.alloc(DEFER_BYTES - 1, 1));
  fs.writeFileSync(path.join(u, 'large'), Buffer.alloc(DEFER_BYTES, 2));
  execFileSync('mkfifo', [path.join(u, 'fifo')]);
  const names = ['small', 'edge', 'large', 'fifo', 'sub', 'gone'];
  const pool = new HashPool({ workers: 1 });
  try {
    let progress = 0;
    const results = await pool.hash(names.map((n) => path.join(u, n)), 0, { unsized: true, onBytes: (n) => (progress += n) });
    const stat = (n: string) => fs.statSync(path.join(u, n), { bigint: true });
    const [small, edge, large, fifo, sub, gone] = results;
    assert.equal(small, { sha256: sha256('small'), bytes: 5, reported: 0, size: 5, mtimeNs: stat('small').mtimeNs.toString(), ctimeNs: stat('small').ctimeNs.toString(), ino: stat('small').ino.toString(), dev: stat('small').dev.toString() });
    assert.ok(edge && 'sha256' in edge && edge.bytes === DEFER_BYTES - 1, 'just under the limit: read');
    assert.equal(large, { deferred: true, size: DEFER_BYTES, mtimeNs: stat('large').mtimeNs.toString(), ctimeNs: stat('large').ctimeNs.toString(), ino: stat('large').ino.toString() });
    assert.equal([fifo, sub, gone], [{ error: 'ENOTREG' }, { error: 'ENOTREG' }, { error: 'ENOENT' }]);
    assert.is(progress, 5 + DEFER_BYTES - 1, 'deferred and refused files count no bytes');
    // The same paths in a sized batch: read as the walk saw them, no deferral.
    const sized = await pool.hash([path.join(u, 'large')], DEFER_BYTES);
    assert.ok(sized[0] && 'sha256' in sized[0] && sized[0].bytes === DEFER_BYTES);
  } finally {
    await pool.close();
  }
});

test('a closed pool rejects new batches with HashWorkerError', async () => {
  const pool = new HashPool({ workers: 1 });
  await pool.close();
  const err = await pool.hash([path.join(dir, 't0', 'a.bin')], 1).then(() => null, (e: unknown) => e);
  assert.instance(err, HashWorkerError);
  assert.match((err as Error).message, /closed/);
});

test('workers must be an integer ≥ 1', () => {
  assert.throws(() => new HashPool({ workers: 0 }), /`workers` must be an integer ≥ 1, got 0/);
});

test.run();
