/**
 * bench:rsync's use of vmtouch (bench/vmtouch.ts): the other tool's files are dropped from the page
 * cache before each run, and with --lock-served a real vmtouch daemon holds a directory's files in
 * memory until released. A directory that is not there is refused with a clear error.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { warmPageCache } from '../../bench/page-cache.js';
import { ensureVmtouch, evictFromPageCache, lockInMemory, VmtouchError } from '../../bench/vmtouch.js';
import { tempDir } from '../../testkit/cli.js';

/** The process's state letter from /proc, or null once it is gone (a zombie not yet reaped is 'Z'). */
function stateOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Those of `pids` still running after up to 2 s of waiting for them to end. */
async function stillRunning(pids: number[]): Promise<number[]> {
  const running = () => pids.filter((pid) => !['Z', null].includes(stateOf(pid)));
  for (let i = 0; i < 100 && running().length > 0; i++) await delay(20);
  return running();
}

test('the files of a directory are locked in memory until released', async () => {
  ensureVmtouch(() => {});
  const dir = await tempDir('pulpdist-vmtouch-');
  await mkdir(path.join(dir.dir, 'sub'));
  await writeFile(path.join(dir.dir, 'a.bin'), randomBytes(3 * 1024 * 1024));
  await writeFile(path.join(dir.dir, 'sub', 'b.bin'), randomBytes(100_000));
  try {
    const lock = lockInMemory(dir.dir);
    try {
      // Whole pages of both files, and nothing like the size of anything else.
      assert.ok(lock.bytes >= 3 * 1024 * 1024 + 100_000, String(lock.bytes));
      assert.ok(lock.bytes < 8 * 1024 * 1024, String(lock.bytes));
      assert.ok(['S', 'R'].includes(stateOf(lock.pid) ?? ''), `daemon ${lock.pid} is ${stateOf(lock.pid)}`);
    } finally {
      lock.release();
    }
    assert.equal(await stillRunning([lock.pid]), [], 'the daemon ended');
  } finally {
    await dir.cleanup();
  }
});

test('a lock released the moment it is taken leaves no daemon behind', async () => {
  // vmtouch's daemon ignored a SIGTERM that came before it went to sleep, and kept its lock.
  ensureVmtouch(() => {});
  const dir = await tempDir('pulpdist-vmtouch-');
  await writeFile(path.join(dir.dir, 'a.bin'), randomBytes(64 * 1024));
  try {
    const pids: number[] = [];
    for (let i = 0; i < 20; i++) {
      const lock = lockInMemory(dir.dir);
      pids.push(lock.pid);
      lock.release();
    }
    assert.equal(await stillRunning(pids), []);
  } finally {
    await dir.cleanup();
  }
});

/** Pages of the files below `dir` in the page cache, and pages in all, as vmtouch counts them. */
function residentPages(dir: string): [number, number] {
  const out = spawnSync('vmtouch', [dir], { encoding: 'utf8' }).stdout;
  const m = /Resident Pages: (\d+)\/(\d+)/.exec(out);
  if (!m) throw new Error(`vmtouch ${dir}: ${out}`);
  return [Number(m[1]), Number(m[2])];
}

/** A file written and on the disk, so that its pages are clean and can be dropped. */
function writeDurable(file: string, bytes: Buffer): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

test('the files below several directories are dropped from the page cache, and read back in', async () => {
  ensureVmtouch(() => {});
  const a = await tempDir('pulpdist-vmtouch-');
  const b = await tempDir('pulpdist-vmtouch-');
  try {
    await mkdir(path.join(a.dir, 'sub'));
    writeDurable(path.join(a.dir, 'sub', 'x.bin'), randomBytes(2 * 1024 * 1024));
    writeDurable(path.join(b.dir, 'y.bin'), randomBytes(300_000));
    await warmPageCache(a.dir, { signal: AbortSignal.timeout(10_000) });
    await warmPageCache(b.dir, { signal: AbortSignal.timeout(10_000) });
    const [inA, ofA] = residentPages(a.dir);
    assert.is(inA, ofA, 'warmed: all of a in memory');
    assert.ok(ofA >= 512, String(ofA));
    evictFromPageCache([a.dir, b.dir]);
    assert.equal(residentPages(a.dir), [0, ofA]);
    assert.is(residentPages(b.dir)[0], 0);
    // Nothing to drop is not an error: one side only, or a destination not made yet.
    evictFromPageCache([]);
    evictFromPageCache(['/no/such/dest']);
  } finally {
    await a.cleanup();
    await b.cleanup();
  }
});

test('a directory that is not there is refused, saying which', () => {
  assert.throws(() => lockInMemory('/no/such/served/dir'), (err: unknown) => err instanceof VmtouchError && /cannot lock \/no\/such\/served\/dir in memory: no such directory/.test((err as Error).message));
});

test.run();
