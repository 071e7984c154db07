/**
 * Quiescence: a tree being written is reported as changing, never content-addressed half-done.
 * A real writer process appends during the scan; a file appears between the walk and the end of
 * the scan; settle; an update-in-progress marker present, then removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalManifest } from '../../manifest/digest.js';
import { TreeBusyError, TreeChangingError } from '../../manifest/errors.js';
import { scanTree } from '../../manifest/scan.js';
import { scanStartNs } from '../../manifest/quiet.js';
import { tempDir } from '../../testkit/cli.js';
import { expectedManifest, writeFiles } from './fixture.js';

let dir = '';
let cleanup = async () => {};

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-manifest-quiet-'));
});

test.after(async () => {
  await cleanup();
});

/** Poll `check` until it returns a value, or fail after `ms`. */
async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

function stopped(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

test('a writer appending during the scan: changing, not published; quiet again once it stops', async () => {
  const root = path.join(dir, 'appending');
  writeFiles(root, { 'done.iso': 'finished', 'upload.part': '' });
  const file = path.join(root, 'upload.part');
  // A real process appending a line every few milliseconds, as an upload in progress does.
  const writer = spawn(process.execPath, ['-e', `const fs=require('fs');setInterval(()=>fs.appendFileSync(${JSON.stringify(file)},'more bytes\\n'),2)`], { stdio: 'ignore' });
  try {
    await until('the writer to start', () => (fs.statSync(file).size > 100 ? true : undefined));
    try {
      await scanTree(root, { cacheFile: false, requireQuiet: true });
      assert.unreachable('a tree being written must not be content-addressed');
    } catch (err) {
      assert.ok(err instanceof TreeBusyError || err instanceof TreeChangingError, String(err));
      assert.ok((err as TreeBusyError).paths.includes('upload.part'), JSON.stringify((err as TreeBusyError).paths));
      assert.is((err as TreeBusyError).retryable, true);
      if (err instanceof TreeBusyError) assert.match(err.message, /^source tree changing: .*upload\.part/);
    }
  } finally {
    writer.kill();
    await stopped(writer);
  }
  const final = fs.readFileSync(file);
  const { entries } = await scanTree(root, { cacheFile: false, requireQuiet: true });
  assert.fixture(canonicalManifest(entries), expectedManifest({ 'done.iso': 'finished', 'upload.part': final }));
});

test('a file created after its directory was listed: changing (the directory moved)', async () => {
  const root = path.join(dir, 'growing');
  writeFiles(root, { 'a/1.rpm': 'one' });
  let created = false;
  try {
    await scanTree(root, {
      cacheFile: false,
      requireQuiet: true,
      // Called once the walk is done (phase "hash"): the directory was listed before this file existed.
      onProgress: (p) => {
        if (p.phase === 'hash' && !created) {
          created = true;
          fs.writeFileSync(path.join(root, 'a', '2.rpm'), 'two');
        }
      },
    });
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, TreeBusyError);
    assert.is((err as TreeBusyError).reason, 'changed');
    assert.equal((err as TreeBusyError).paths, ['a/']);
  }
  assert.ok(created);
  // Without requireQuiet (`pulpdist manifest`), the same scan just describes what it listed.
  const { entries } = await scanTree(root, { cacheFile: false });
  assert.is(entries.length, 2);
});

test('settle: a tree changed less than the settle time ago waits, with when it will be quiet', async () => {
  const root = path.join(dir, 'settle');
  writeFiles(root, { 'x/new.txt': 'new' });
  try {
    await scanTree(root, { cacheFile: false, settleMs: 3_600_000 });
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, TreeBusyError);
    const e = err as TreeBusyError;
    assert.is(e.reason, 'settling');
    assert.ok(e.retryAfterMs! > 3_500_000 && e.retryAfterMs! <= 3_600_000, String(e.retryAfterMs));
    assert.match(e.message, /changed less than the settle time ago/);
  }
  // A short settle passes once that long has gone by (polled, not slept).
  const ok = await until('the tree to settle', async () => {
    try {
      return await scanTree(root, { cacheFile: false, settleMs: 200 });
    } catch (err) {
      if (err instanceof TreeBusyError && err.reason === 'settling') return undefined;
      throw err;
    }
  });
  assert.fixture(canonicalManifest(ok.entries), expectedManifest({ 'x/new.txt': 'new' }));
});

test('an update-in-progress marker holds the tree back; removed, the tree is published without it', async () => {
  const root = path.join(dir, 'marker');
  writeFiles(root, { 'dists/stable/Release': 'release', 'Archive-Update-in-Progress-mirror1.example.com': '' });
  const marker = 'Archive-Update-in-Progress-*';
  try {
    await scanTree(root, { cacheFile: false, inProgressMarker: marker });
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, TreeBusyError);
    assert.is((err as TreeBusyError).reason, 'marker');
    assert.equal((err as TreeBusyError).paths, ['Archive-Update-in-Progress-mirror1.example.com']);
    assert.match((err as Error).message, /an update is in progress/);
  }
  fs.unlinkSync(path.join(root, 'Archive-Update-in-Progress-mirror1.example.com'));
  const { entries } = await scanTree(root, { cacheFile: false, inProgressMarker: marker });
  assert.fixture(canonicalManifest(entries), expectedManifest({ 'dists/stable/Release': 'release' }));
});

test('a file written just before the scan starts, in the same millisecond, is not after the start', () => {
  const file = path.join(dir, 'same-ms.txt');
  for (let i = 0; i < 200; i++) {
    fs.writeFileSync(file, String(i));
    const start = scanStartNs(Date.now());
    const st = fs.statSync(file, { bigint: true });
    // With whole milliseconds (Date.now() * 1e6) this failed for most writes on a ns-stamping filesystem.
    assert.ok(st.mtimeNs <= start && st.ctimeNs <= start, `write ${i}: mtime ${st.mtimeNs} after the start ${start}`);
  }
});

test('an unchanged tree passes every check', async () => {
  const root = path.join(dir, 'calm');
  writeFiles(root, { 'a/b.txt': 'b', 'c.txt': 'c' });
  const r = await scanTree(root, { cacheFile: false, requireQuiet: true, inProgressMarker: '*.lock' });
  assert.fixture(canonicalManifest(r.entries), expectedManifest({ 'a/b.txt': 'b', 'c.txt': 'c' }));
});

test.run();
