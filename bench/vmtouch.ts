/**
 * Debian's `vmtouch`, as `bench:rsync` uses it to set the page cache before each run: it drops the
 * other tool's downstream copies from memory (`evictFromPageCache`), and with `--lock-served` holds
 * the upstream's served data in memory through the run (`lockInMemory`, mlock(2) from a small
 * daemon of its own). Node has neither posix_fadvise nor mlock.
 *
 * Why: the benchmark puts both tools' upstreams and downstreams on one machine, and by the initial
 * ×4 they have written more than its memory holds. Without eviction, the tool that runs second
 * starts with the first one's 11 GiB of copies in the page cache; its four downstreams' 9 GiB of
 * writes then make the kernel reclaim pages during the run, the upstream's among them, which the
 * upstream reads back from the disk at a cost in CPU it would not pay on a machine of its own.
 * Locking goes further: nothing can evict the served data, not even the run's own writes.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PulpdistError } from '../core/errors.js';
import { ensurePackage } from './apt.js';

/** vmtouch is missing, or could not do what was asked (mlock refused, a directory missing). */
export class VmtouchError extends PulpdistError {}

/** The largest file vmtouch handles (its default, 500 MiB, would skip larger ones silently). */
const MAX_FILE = '1024G';

/** Files held in memory until `release`. */
export interface PageLock {
  /** The vmtouch daemon holding the lock. */
  pid: number;
  /** Bytes locked (the daemon's VmLck). */
  bytes: number;
  release(): void;
}

function isDirectory(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** Install vmtouch with apt-get when it is missing (as `ensureRsync` does for rsync). */
export function ensureVmtouch(log: (line: string) => void): void {
  if (!ensurePackage('vmtouch', () => spawnSync('vmtouch', ['-h'], { stdio: 'ignore' }).error === undefined, log)) {
    throw new VmtouchError('bench:rsync needs vmtouch, and `apt-get install vmtouch` failed: install it (as root: apt-get install vmtouch) and run again');
  }
}

/**
 * Drop every file below `dirs` from the page cache (posix_fadvise DONTNEED); a directory that is
 * not there holds nothing to drop. Only clean pages go: what was written must be on the disk first
 * (`flushDisk`).
 */
export function evictFromPageCache(dirs: string[]): void {
  dirs = dirs.filter(isDirectory);
  if (dirs.length === 0) return;
  const r = spawnSync('vmtouch', ['-q', '-e', '-m', MAX_FILE, ...dirs], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error || r.status !== 0) throw new VmtouchError(`cannot evict ${dirs.join(', ')} from memory: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
}

/**
 * Lock every file below `dir` in memory. Returns once all are locked (`vmtouch -d -w`); throws a
 * VmtouchError saying why when they cannot be (no CAP_IPC_LOCK and a low `ulimit -l`, or not
 * enough memory).
 */
export function lockInMemory(dir: string): PageLock {
  // vmtouch only warns about a path it cannot stat, and locks nothing.
  if (!isDirectory(dir)) throw new VmtouchError(`cannot lock ${dir} in memory: no such directory`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pulpdist-vmtouch-'));
  const pidFile = path.join(tmp, 'pid');
  const errFile = path.join(tmp, 'stderr');
  try {
    // Its messages go to a file, not a pipe: the daemon keeps what it inherits open, and a pipe
    // would hold spawnSync until the daemon ends.
    const err = openSync(errFile, 'w');
    let r;
    try {
      r = spawnSync('vmtouch', ['-q', '-l', '-d', '-w', '-m', MAX_FILE, '-P', pidFile, dir], { stdio: ['ignore', 'ignore', err] });
    } finally {
      closeSync(err);
    }
    if (r.error || r.status !== 0) {
      const why = (readFileSync(errFile, 'utf8') || r.error?.message || `exit ${r.status}`).trim();
      throw new VmtouchError(`cannot lock ${dir} in memory: ${why} (locking needs root or CAP_IPC_LOCK, and the memory to hold it)`);
    }
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmLck:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    return {
      pid,
      bytes: kb * 1024,
      release() {
        try {
          // SIGKILL, not SIGTERM: vmtouch's SIGTERM handler only removes the pid file and returns,
          // relying on select() being interrupted; a SIGTERM that lands between its "locked" reply
          // and that select() leaves the daemon asleep for good, still holding the memory. There is
          // nothing for it to clean up (its pid file went with our temporary directory).
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone: nothing is locked any more.
        }
      },
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
