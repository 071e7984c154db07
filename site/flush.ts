/**
 * Durability of the blob store in bulk: one syncfs(2) of the store's filesystem makes every blob
 * written so far durable, where an fdatasync per blob cost a reopen, a journal commit and ~0.4 ms
 * of CPU each (10,000 blobs: 1.7–1.9 s after the downloads). Node has no syncfs binding, so it is
 * coreutils' `sync --file-system DIR`. syncfs also flushes other writers' dirty data on the same
 * filesystem; on ext4 an fdatasync's journal commit largely does too (data=ordered).
 *
 * Where `sync -f` is missing or refuses at start-up, `available` is false and the blob store makes
 * each file durable with its own fdatasync instead. Once it has worked, a failing syncfs is an I/O
 * error of the disk, and it is thrown, never taken for "unavailable".
 */
import { execFile } from 'node:child_process';

export interface FsFlusher {
  /** True when syncfs can be used (decided once, by `probe`). */
  readonly available: boolean;
  /** Decide `available` by flushing once; never throws. */
  probe(): Promise<boolean>;
  /** syncfs now: everything written and closed before the call is durable when it resolves. */
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
  let background: Promise<void> | null = null;
  return {
    get available() {
      return available;
    },
    async probe() {
      available = await syncfs(dir).then(() => true, () => false);
      return available;
    },
    flush: () => syncfs(dir),
    wrote(bytes) {
      if (!available) return;
      pending += bytes;
      if (pending < kickBytes || background) return;
      pending = 0;
      // Failures here are reported by the flush the sync awaits before its renames.
      background = syncfs(dir)
        .catch(() => undefined)
        .finally(() => {
          background = null;
        });
    },
  };
}
