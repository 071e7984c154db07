/**
 * How a site's health and disk read in the page, the terminal and the status file: one wording
 * everywhere (docs/status.md "Sites").
 */
import { siteHealthOf, type SiteStatus } from '../core/status.js';
import { formatBytes } from '../core/units.js';
import { formatAge } from './format.js';

/** `1.1 GiB free of 20.0 GiB (5%)`, `no figure (object storage)` when Pulp gives none, null when never observed. */
export function diskText(s: Pick<SiteStatus, 'storage'>): string | null {
  if (s.storage === undefined) return null;
  if (s.storage === null) return 'no figure (object storage)';
  const { free, total } = s.storage;
  const pct = total > 0 ? ` (${Math.floor((free / total) * 100)}%)` : '';
  return `${formatBytes(free)} free of ${formatBytes(total)}${pct}`;
}

/** `yes`, `degraded` or `no`: the page's Reachable column. */
export function healthWord(s: Pick<SiteStatus, 'reachable' | 'state'>): 'yes' | 'degraded' | 'no' {
  const h = siteHealthOf(s);
  return h === 'reachable' ? 'yes' : h === 'degraded' ? 'degraded' : 'no';
}

/**
 * A site as its status file holds it: without the storage figures, which move with every write
 * at the site and would make a status commit of every pass (files.ts commits only real changes);
 * `diskLow` says what matters there.
 */
export function siteFileView(s: SiteStatus): Omit<SiteStatus, 'storage'> {
  const { storage: _storage, ...rest } = s;
  return rest;
}

/** `last cleanup 3h ago: 120.0 MiB reclaimed`, or null before the first. */
export function cleanupText(s: Pick<SiteStatus, 'lastCleanup'>, now: Date): string | null {
  const c = s.lastCleanup;
  if (!c) return null;
  const what = c.result === 'failed' ? `failed: ${c.message}` : c.reclaimedBytes === null ? 'reclaimed: unknown' : `${formatBytes(c.reclaimedBytes)} reclaimed`;
  return `last cleanup ${formatAge(c.finishedAt, now)} ago: ${what}`;
}
