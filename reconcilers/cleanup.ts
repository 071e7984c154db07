/**
 * Orphan cleanup at one site (issue 22): Pulp's `orphans/cleanup/` removes content no repository
 * version references, then artifacts no content references. It is how a removed mirror, a file
 * deleted upstream or a version dropped by `retainVersions` gives its disk space back; nothing
 * else ever frees it. The cleanup is server-wide (docs/operations.md says why that is safe), so it
 * is started only when the site can run it (an online worker) and no sync is running or waiting
 * there (a sync's new content is protected by the protection time anyway; the rule keeps the two
 * from competing for the disk and the database). Reclaimed bytes are what status/ `storage.used`
 * lost across the task: Pulp reports counts only.
 */
import type { SiteStorage } from '../core/status.js';
import { isPulpdistError, messageOf } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type { PulpClient, Task } from '../pulp/types.js';
import { onlineWorkersOf, storageOf, NO_WORKER } from './site-health.js';

const SYNC_TASK = 'pulp_file.app.tasks.synchronizing.synchronize';
const CLEANUP_TASK = 'pulpcore.app.tasks.orphan.orphan_cleanup';

/** What one cleanup did, or why it did not run. */
export interface CleanupResult {
  site: string;
  result: 'completed' | 'failed' | 'skipped';
  /** Why it failed or was skipped (redacted); empty when completed. */
  message: string;
  startedAt: string;
  finishedAt: string;
  /** The task href; null when none was started. */
  task: string | null;
  /** Orphan content units and artifacts removed (the task's progress reports). */
  removed: { content: number; artifacts: number } | null;
  /** status/ `storage.used` before minus after; null when Pulp gives no storage figure. */
  reclaimedBytes: number | null;
  /** status/ `storage` after the cleanup. */
  storage: SiteStorage | null;
}

export interface CleanupOptions {
  signal: AbortSignal;
  now: () => Date;
  /** Orphans younger than this are kept (Pulp takes whole minutes: rounded up, the safe side). */
  protectionMs: number;
}

/** Run the cleanup at one site and wait for it. Never throws for the site's own failures. */
export async function cleanupSite(site: string, client: PulpClient, opts: CleanupOptions): Promise<CleanupResult> {
  const { signal } = opts;
  const startedAt = opts.now().toISOString();
  const done = (r: Omit<CleanupResult, 'site' | 'startedAt' | 'finishedAt'>): CleanupResult => ({ site, startedAt, finishedAt: opts.now().toISOString(), ...r });
  const none = { task: null, removed: null, reclaimedBytes: null } as const;
  try {
    const before = await client.status({ signal });
    if (onlineWorkersOf(before) === 0) return done({ result: 'skipped', message: `site ${site} has ${NO_WORKER}`, ...none, storage: storageOf(before) });
    // `name` (exact) is the filter sync-task.ts relies on against real Pulp; one list per task name.
    const unfinished = (name: string) => client.listTasks({ name, state__in: 'waiting,running' }, { signal }).then((ts) => ts.filter((t) => t.name === name).length);
    const [syncs, cleanups] = await Promise.all([unfinished(SYNC_TASK), unfinished(CLEANUP_TASK)]);
    if (syncs > 0) return done({ result: 'skipped', message: `${syncs} sync${syncs === 1 ? ' is' : 's are'} running or waiting at ${site}`, ...none, storage: storageOf(before) });
    if (cleanups > 0) return done({ result: 'skipped', message: `an orphan cleanup is already running at ${site}`, ...none, storage: storageOf(before) });
    const task = await client.cleanupOrphans({ protectionMinutes: Math.ceil(opts.protectionMs / 60_000) }, { signal });
    const after = await client.status({ signal });
    const was = storageOf(before);
    const now = storageOf(after);
    return done({
      result: 'completed', message: '', task: task.pulp_href, removed: removedBy(task),
      reclaimedBytes: was && now ? Math.max(0, was.used - now.used) : null, storage: now,
    });
  } catch (err) {
    // A site's own failures (HTTP, auth, a failed task) are a result; a bug stays loud.
    if (signal.aborted || !isPulpdistError(err)) throw err;
    return done({ result: 'failed', message: redact(messageOf(err)), ...none, storage: null });
  }
}

/** Counts from the task's two reports, "Clean up orphan Content" and "… Artifacts" (both code `clean-up.content`). */
function removedBy(task: Task): { content: number; artifacts: number } | null {
  const by = (word: string) => task.progress_reports.find((p) => p.message.includes(word))?.done;
  const content = by('Content');
  const artifacts = by('Artifacts');
  return typeof content === 'number' && typeof artifacts === 'number' ? { content, artifacts } : null;
}
