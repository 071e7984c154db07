/**
 * Holds a directory's files in memory for the length of a run (`bench:rsync --lock-served`), with
 * Debian's `vmtouch` (mlock(2) of every file, from a small daemon of its own).
 *
 * Why: warming the page cache before a run (page-cache.ts) is not enough at the default scale. The
 * four downstreams write 9 GiB on the same machine during the initial ×4, the kernel evicts the
 * upstream's pages read least recently, and the upstream reads them back from the disk. An upstream
 * on a machine of its own would not. pulpdist's origin then sends its reads to the thread pool,
 * which costs it CPU the run does not measure elsewhere (docs/benchmarks.md). Locking both tools'
 * served data takes that out of both tools' runs.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PulpdistError } from '../core/errors.js';
import { ensurePackage } from './apt.js';

/** The served data could not be locked: vmtouch is missing, or mlock was refused. */
export class PageLockError extends PulpdistError {}

/** Files held in memory until `release`. */
export interface PageLock {
  /** The vmtouch daemon holding the lock. */
  pid: number;
  /** Bytes locked (the daemon's VmLck). */
  bytes: number;
  release(): void;
}

/** Install vmtouch with apt-get when it is missing (as `ensureRsync` does for rsync). */
export function ensureVmtouch(log: (line: string) => void): void {
  if (!ensurePackage('vmtouch', () => spawnSync('vmtouch', ['-h'], { stdio: 'ignore' }).error === undefined, log)) {
    throw new PageLockError('--lock-served needs vmtouch, and `apt-get install vmtouch` failed: install it (as root: apt-get install vmtouch) and run again');
  }
}

/**
 * Lock every file below `dir` in memory. Returns once all are locked (`vmtouch -d -w`); throws a
 * PageLockError saying why when they cannot be (no CAP_IPC_LOCK and a low `ulimit -l`, or not
 * enough memory).
 */
export function lockInMemory(dir: string): PageLock {
  // vmtouch only warns about a path it cannot stat, and locks nothing.
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new PageLockError(`cannot lock ${dir} in memory: no such directory`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pulpdist-vmtouch-'));
  const pidFile = path.join(tmp, 'pid');
  const errFile = path.join(tmp, 'stderr');
  try {
    // Its messages go to a file, not a pipe: the daemon keeps what it inherits open, and a pipe
    // would hold spawnSync until the daemon ends.
    const err = openSync(errFile, 'w');
    let r;
    try {
      r = spawnSync('vmtouch', ['-q', '-l', '-d', '-w', '-P', pidFile, dir], { stdio: ['ignore', 'ignore', err] });
    } finally {
      closeSync(err);
    }
    if (r.error || r.status !== 0) {
      const why = (readFileSync(errFile, 'utf8') || r.error?.message || `exit ${r.status}`).trim();
      throw new PageLockError(`cannot lock ${dir} in memory: ${why} (locking needs root or CAP_IPC_LOCK, and the memory to hold it)`);
    }
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmLck:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    return {
      pid,
      bytes: kb * 1024,
      release() {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // Already gone: nothing is locked any more.
        }
      },
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
