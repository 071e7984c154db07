/**
 * bench:rsync --lock-served (bench/page-lock.ts): a real vmtouch daemon holds a directory's files in
 * memory until released, and a directory that is not there is refused with a clear error.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ensureVmtouch, lockInMemory, PageLockError } from '../../bench/page-lock.js';
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

test('the files of a directory are locked in memory until released', async () => {
  ensureVmtouch(() => {});
  const dir = await tempDir('pulpdist-page-lock-');
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
    for (let i = 0; i < 100 && !['Z', null].includes(stateOf(lock.pid)); i++) await delay(20);
    assert.ok(['Z', null].includes(stateOf(lock.pid)), `daemon ${lock.pid} still ${stateOf(lock.pid)}`);
  } finally {
    await dir.cleanup();
  }
});

test('a directory that is not there is refused, saying which', () => {
  assert.throws(() => lockInMemory('/no/such/served/dir'), (err: unknown) => err instanceof PageLockError && /cannot lock \/no\/such\/served\/dir in memory: no such directory/.test((err as Error).message));
});

test.run();
