/**
 * History across restarts: at start, the controller reads back the status it last committed and
 * seeds what a pass keeps between passes (reconcilers/pass.ts PassMemory) with it: the last sync of
 * each placement, so the page, the JSON and `pulpdist_last_sync_success_timestamp_seconds` are whole
 * from the first document on; the last successful sync time, so a restart does not reset a
 * schedule's clock; when each site was last seen.
 */
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { syncKey } from '../reconcilers/names.js';
import type { PassMemory } from '../reconcilers/pass-types.js';
import type { GitSource } from '../gitsource/types.js';
import { readLastStatus, type RestoredStatus } from '../status/restore.js';

/**
 * Read the status branch and seed `memory`; null when there is none or it cannot be read (a warning:
 * the controller still starts, with no history).
 */
export async function restoreHistory(source: GitSource, memory: PassMemory, o: { log: Logger; signal: AbortSignal }): Promise<RestoredStatus | null> {
  let restored: RestoredStatus | null;
  try {
    restored = await readLastStatus(source, { signal: o.signal });
  } catch (err) {
    o.log.warn('cannot read the last status commit; starting without the history of earlier syncs', { error: messageOf(err) });
    return null;
  }
  if (!restored) return null;
  const syncs = seedMemory(memory, restored);
  if (restored.skipped.length) o.log.warn('status files skipped: not in the shape pulpdist writes', { files: restored.skipped.join(', ') });
  o.log.info('history restored from the status branch', { commit: restored.commit.slice(0, 12), mirrors: restored.mirrors.length, syncs });
  return restored;
}

/** Seed `memory` from a restored status; returns how many last syncs it took. Entries already in memory win. */
export function seedMemory(memory: PassMemory, restored: Pick<RestoredStatus, 'mirrors' | 'sites'>): number {
  let n = 0;
  for (const m of restored.mirrors) {
    for (const c of m.sites) {
      const k = syncKey(m.name, c.site);
      const last = c.lastSync;
      if (!last || memory.lastSync.has(k)) continue;
      memory.lastSync.set(k, last);
      n++;
      const end = last.finishedAt ? new Date(last.finishedAt) : null;
      if (last.result === 'completed' && end && !memory.lastSyncAt.has(k)) memory.lastSyncAt.set(k, end);
    }
  }
  for (const s of restored.sites) if (s.lastSeen && !memory.lastSeen.has(s.name)) memory.lastSeen.set(s.name, s.lastSeen);
  // A rollout goes on from its stage and soak after a restart, not from the first stage again.
  for (const m of restored.mirrors) if (m.rollout && !memory.rollouts.has(m.name)) memory.rollouts.set(m.name, m.rollout);
  return n;
}
