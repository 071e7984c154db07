/**
 * Plan for the sync (or publish) of a mirror at one site. Pure: the clock and the last sync time
 * come in as values. A sync is planned when the site has never synced, when the tree it should
 * hold differs from what it publishes, or when the schedule is due.
 */
import { CronExpressionParser } from 'cron-parser';
import type { FileDistribution, FileRemote, FileRepository } from '../pulp/types.js';
import type { ManifestEntry } from '../manifest/types.js';
import type { MirrorSchedule } from '../spec/types.js';
import type { DesiredMirror, DesiredPlacement, PublishEntry, SyncReason, Transfer, TreeEntry, TreeSummary } from './plan-types.js';
import { versionNumberOf } from './names.js';
import type { UnpublishedLatest } from './served.js';

/** The next time a schedule comes due after `last` (UTC for cron). */
export function nextDue(schedule: MirrorSchedule, last: Date): Date {
  if ('intervalMs' in schedule) return new Date(last.getTime() + schedule.intervalMs);
  return CronExpressionParser.parse(schedule.cron, { currentDate: last, tz: 'UTC' }).next().toDate();
}

/**
 * When a source change must wait for, or null when it may sync now. A `cron` schedule is a
 * window (operators use it to keep big syncs off-peak): a change syncs at the first cron time
 * after the last sync, unless the mirror says `syncOnChange: true`. Without a known last sync (a
 * fresh controller), the window is the next cron time from now: holding a change is the safe side.
 * Only the origin is held; the sites below follow what it publishes. `interval` keeps its meaning
 * (an extra sync besides changes), so it holds nothing.
 */
export function cronHold(schedule: MirrorSchedule | undefined, lastSyncAt: Date | undefined, now: Date): Date | null {
  if (!schedule || !('cron' in schedule) || schedule.syncOnChange) return null;
  const due = lastSyncAt ? nextDue(schedule, lastSyncAt) : nextDue(schedule, now);
  return due <= now ? null : due;
}

/**
 * Files and bytes of `want` whose sha256 `have` lacks. Content-addressed: a renamed or duplicated
 * file costs nothing, and each missing blob counts once. The bytes include the PULP_MANIFEST every
 * sync fetches first, as the sync's own byte count does (on a tree of small files it is most of
 * what moves; left out, plan said "6.1 KiB" where apply then moved 22.9 KiB).
 */
export function transferEstimate(want: TreeSummary, have: TreeSummary | null): Transfer {
  if (!want.entries) return { files: want.files, bytes: want.bytes };
  const held = new Set<string>();
  if (have?.entries) for (const e of have.entries) held.add(e.sha256);
  let files = 0;
  let bytes = manifestBytes(want.entries);
  for (const e of want.entries) {
    if (held.has(e.sha256)) continue;
    held.add(e.sha256);
    files++;
    bytes += e.size;
  }
  return { files, bytes };
}

// One tree is estimated for every site that pulls it: its manifest is measured once.
const manifestSizes = new WeakMap<readonly ManifestEntry[], number>();

/** Bytes of the canonical PULP_MANIFEST of `entries`: a line `relative_path,sha256,size\n` each. */
function manifestBytes(entries: readonly ManifestEntry[]): number {
  let n = manifestSizes.get(entries);
  if (n === undefined) {
    n = 0;
    for (const e of entries) n += Buffer.byteLength(e.relativePath, 'utf8') + e.sha256.length + String(e.size).length + 3;
    manifestSizes.set(entries, n);
  }
  return n;
}

/** True when the repository has at least one version beyond the empty version 0. */
export function hasSynced(repo: FileRepository | undefined): boolean {
  return !!repo && !/\/versions\/0\/$/.test(repo.latest_version_href ?? '');
}

export interface SyncInput {
  mirror: DesiredMirror;
  placement: DesiredPlacement;
  repository: FileRepository | undefined;
  remote: FileRemote | undefined;
  /** The distribution, when it exists (a publish only helps where something serves it). */
  distribution: FileDistribution | undefined;
  /** What the site publishes now (null = nothing). */
  published: TreeSummary | null;
  /** Set when the repository's latest version has no publication (observe.ts, served.ts). */
  unpublished?: UnpublishedLatest | undefined;
  /**
   * The tree the site should publish after this pass: at the origin the source, elsewhere what
   * the feeder will publish. A string says why it is unknown (unreachable feeder, unreadable source).
   */
  want: TreeSummary | string;
  now: Date;
  lastSyncAt: Date | undefined;
}

const REASONS: Record<SyncReason, (feeder: string | null) => string> = {
  'never-synced': () => 'never synced',
  'upstream-newer': (f) => `upstream ${f} publishes a newer tree`,
  'source-changed': () => 'source changed',
  'schedule-due': () => 'schedule due',
};

/** A sync, a publish, a noop saying why nothing can happen yet, or null when in sync. */
export function planSync(input: SyncInput): TreeEntry | null {
  const { placement: p, mirror, published, want } = input;
  const base = { site: p.site, kind: 'sync' as const, name: p.repository.name, mirror: p.mirror, depth: p.depth };
  const never = !hasSynced(input.repository);
  if (typeof want === 'string') {
    return { ...base, action: 'noop', reason: want };
  }
  let reason: SyncReason | null = null;
  const publish = (why: string): PublishEntry | null => input.distribution && input.repository
    ? { ...base, kind: 'publication', action: 'publish', reason: why, op: { repository: input.repository.pulp_href, distribution: input.distribution.pulp_href, basePath: mirror.basePath } }
    : null;
  if (!never && input.unpublished) {
    // The latest version's publication was deleted by hand. A sync would not heal it (no change
    // makes no version, so no publication: extra4/34-36), even when the distribution still serves
    // the right tree from an older publication; a publish does. Should the source have moved too,
    // the next pass syncs from the restored state.
    const u = input.unpublished;
    const why = u.served
      ? `the latest version (v${versionNumberOf(u.latest)}) has no publication; the distribution falls back to v${versionNumberOf(u.served)}`
      : 'the repository has versions but its distribution serves no publication';
    const e = publish(why);
    if (e) return e;
  }
  if (never) reason = 'never-synced';
  else if (!published || published.digest !== want.digest) {
    // The repository holds versions but nothing is served: publish what it has.
    const e = published ? null : publish('the repository has versions but its distribution serves no publication');
    if (e) return e;
    reason = p.feeder === null ? 'source-changed' : 'upstream-newer';
    const held = reason === 'source-changed' ? cronHold(mirror.schedule, input.lastSyncAt, input.now) : null;
    if (held) return { ...base, action: 'noop', reason: `waiting: source changed; held for the cron window until ${held.toISOString()}` };
  } else if (mirror.schedule && input.lastSyncAt && nextDue(mirror.schedule, input.lastSyncAt) <= input.now) {
    reason = 'schedule-due';
  }
  if (!reason) return null;
  return {
    ...base,
    action: 'sync',
    reason: REASONS[reason](p.feeder) + (!never && !input.distribution && reason !== 'schedule-due' ? ' (what a new distribution will serve is unknown)' : ''),
    syncReason: reason,
    estimate: transferEstimate(want, published),
    op: {
      repository: input.repository?.pulp_href ?? null, remote: input.remote?.pulp_href ?? null, distribution: input.distribution?.pulp_href ?? null,
      basePath: mirror.basePath, feeder: p.feeder, wantDigest: want.digest,
    },
  };
}
