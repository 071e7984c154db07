/**
 * Quiescence: whether a scanned tree was quiet enough to publish. A tree still being written
 * (an rsync in progress, a compose being assembled, a log being appended) must not be published
 * half-done; scan.ts collects change times while it walks, and this decides after the scan.
 */
import { TreeBusyError } from './errors.js';
import { recordOf, statFile, statKey, type FileRecord } from './walk.js';

/** Files changed less than this before the scan started are stat'ed again after it (requireQuiet). */
export const RECENT_NS = 10_000_000_000n;

/**
 * When a scan that starts at `nowMs` (Date.now()) starts, on the files' nanosecond clock. Date.now()
 * is whole milliseconds: a file written earlier in the same millisecond is stamped after
 * `nowMs * 1e6` and would look changed during the scan, so the start is the end of that millisecond
 * (a change in the scan's first millisecond is left to the other checks and the next scan).
 */
export function scanStartNs(nowMs: number): bigint {
  return (BigInt(nowMs) + 1n) * 1_000_000n;
}

/**
 * Throw TreeBusyError unless the tree was quiet: under `requireQuiet`, nothing changed during the
 * scan (directories and recently changed files are stat'ed again: one call each, a few hundred on
 * a 10,000-file tree; a file untouched for RECENT_NS before the scan and rewritten during it is
 * caught by the next scan instead); under `settleMs`, the newest change is old enough.
 */
export function checkQuiet(
  root: string,
  prefix: string,
  q: {
    requireQuiet: boolean;
    startNs: bigint;
    recent: FileRecord[];
    dirs: { relativePath: string; abs: string; key: string; changeNs: bigint }[];
    newestNs: bigint;
    newestPath: string;
    settleMs?: number;
  },
): void {
  let newestNs = q.newestNs;
  let newestPath = q.newestPath;
  for (const d of q.dirs) {
    if (d.changeNs > newestNs) {
      newestNs = d.changeNs;
      newestPath = d.relativePath === '.' ? '.' : d.relativePath + '/';
    }
  }
  if (q.requireQuiet) {
    const changed: string[] = [];
    for (const d of q.dirs) {
      const st = statFile(d.abs);
      if (!st || statKey(recordOf('', st)) !== d.key) changed.push(d.relativePath === '.' ? '.' : d.relativePath + '/');
    }
    for (const f of q.recent) {
      const st = statFile(f.source ?? prefix + f.relativePath);
      const m = BigInt(f.mtimeNs);
      const c = BigInt(f.ctimeNs);
      // Changed after the scan started: a writer is (or was just now) at work on it.
      if (!st || statKey(recordOf('', st)) !== statKey(f) || m > q.startNs || c > q.startNs) changed.push(f.relativePath);
    }
    if (changed.length > 0) throw new TreeBusyError(root, 'changed', [...new Set(changed)].sort());
  }
  if (q.settleMs !== undefined) {
    const quietAtNs = newestNs + BigInt(Math.round(q.settleMs)) * 1_000_000n;
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    if (quietAtNs > nowNs) throw new TreeBusyError(root, 'settling', [newestPath], Number((quietAtNs - nowNs) / 1_000_000n));
  }
}

