/**
 * Durability of the blob store in bulk: one syncfs(2) of the store's filesystem makes every blob
 * written so far durable, where an fdatasync per blob cost a reopen, a journal commit and ~0.4 ms
 * of CPU each (10,000 blobs: 1.7–1.9 s after the downloads). Node has no syncfs binding, so it is
 * coreutils' `sync --file-system DIR`. syncfs also flushes other writers' dirty data on the same
 * filesystem; on ext4 an fdatasync's journal commit largely does too (data=ordered).
 *
 * Spawning `sync` is not free: ≈ 5–15 ms of this process's CPU (fork of a large process) and
 * 15–20 ms of wall time, the price of 20–40 fdatasyncs. So the blob store only uses it for syncs
 * that wrote many files (`blobs.ts`), and concurrent callers share one run (`flush`).
 *
 * Where `sync -f` is missing or refuses at start-up, `available` is false and the blob store makes
 * each file durable with its own fdatasync instead. Once it has worked, a failing syncfs is an I/O
 * error of the disk, and it is thrown, never taken for "unavailable".
 */
import { execFile } from 'node:child_process';

export interface FsFlusher {
  /** True when syncfs can be used (decided once, by `probe`). */
  readonly available: boolean;
  /** syncfs runs started so far (background ones included). */
  readonly runs: number;
  /** Decide `available` by flushing once; never throws. */
  probe(): Promise<boolean>;
  /**
   * Everything written and closed before the call is durable when it resolves. A syncfs already
   * under way may have started before the caller's writes, so the caller waits for the next one;
   * every caller arriving meanwhile shares that next run.
   */
  flush(): Promise<void>;
  /**
   * Count bytes written; every `kickBytes` a flush starts in the background, so the disk writes
   * back while downloads go on and the flush before the renames finds little left to do.
   */
  wrote(bytes: number): void;
}

const syncfs = (dir: string): Promise<void> =>
  new Promise((resolve, reject) => {
    execFile('sync', ['--file-system', dir], { timeout: 600_000 }, (err, _out, stderr) => {
      if (err) reject(new Error(`syncfs of ${dir} failed: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });

export function createFsFlusher(dir: string, kickBytes = 64 * 1024 * 1024): FsFlusher {
  let available = false;
  let pending = 0;
  let runs = 0;
  /** The syncfs under way, if any. */
  let current: Promise<void> | null = null;
  /** The run that starts when `current` ends, shared by every flush called meanwhile. */
  let next: Promise<void> | null = null;
  const start = (): Promise<void> => {
    runs++;
    const run: Promise<void> = syncfs(dir).finally(() => {
      if (current === run) current = null;
    });
    current = run;
    return run;
  };
  return {
    get available() {
      return available;
    },
    get runs() {
      return runs;
    },
    async probe() {
      available = await syncfs(dir).then(() => true, () => false);
      return available;
    },
    flush() {
      // `next` first: between the end of `current` and the start of `next`, joining `next` still
      // gets a run that starts after this call.
      if (next) return next;
      if (!current) return start();
      next = current
        .catch(() => undefined)
        .then(() => {
          next = null;
          return start();
        });
      return next;
    },
    wrote(bytes) {
      if (!available) return;
      pending += bytes;
      if (pending < kickBytes || current) return;
      pending = 0;
      // Failures here are reported by the flush the sync awaits before its renames.
      start().catch(() => undefined);
    },
  };
}
