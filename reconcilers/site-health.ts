/**
 * A site's health and disk, from its `status/` (online workers, storage), and the two rules plan
 * applies with them: a site with no online Pulp worker starts no task that needs one (its syncs
 * would wait until the pass deadline, an hour, and hold the whole pass), and a sync that would not
 * fit in a site's free space is not started (a sync that fails half-way on ENOSPC leaves the disk
 * full for every other repository on that Pulp). Pure.
 */
import type { SiteHealth, SiteStorage } from '../core/status.js';
import { formatBytes } from '../core/units.js';
import type { PulpStatus } from '../pulp/types.js';
import type { ObservedSite, PlanEntry, PlanSite, TreeEntry } from './plan-types.js';

export type { SiteHealth, SiteStorage };

/** The words every message about a worker-less site uses (tests and docs grep for them). */
export const NO_WORKER = 'no online Pulp worker';

/**
 * A sync must leave this share of the disk free besides its own bytes: the estimate counts file
 * contents, not the filesystem's metadata, the site's own database or what other writers add.
 */
export const SYNC_MARGIN_SHARE = 0.01;
/** Per file, what a filesystem adds to its size at most (one block): a tree of small files costs far more than its bytes. */
export const PER_FILE_OVERHEAD = 4096;

/**
 * status/ `storage`, or null when Pulp gives no figure: object storage backends (S3, Azure) answer
 * `null`, and a body without three finite non-negative numbers is not guessed at.
 */
export function storageOf(status: PulpStatus): SiteStorage | null {
  const s = status.storage as unknown;
  if (!s || typeof s !== 'object') return null;
  const { total, used, free } = s as Record<string, unknown>;
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  return ok(total) && ok(used) && ok(free) ? { total, used, free } : null;
}

/**
 * Online workers status/ lists. Pulp drops a worker from the list when it stops (SIGTERM) or when
 * its heartbeat is older than WORKER_TTL (30 s, after a SIGKILL): recordings extra4/106, 129.
 */
export function onlineWorkersOf(status: PulpStatus): number {
  return Array.isArray(status.online_workers) ? status.online_workers.length : 0;
}

/**
 * True for entries Pulp runs on a worker: syncs, publishes and distribution creates. Creating a
 * repository or remote answers 201 at once; updates and deletes run in the API (extra4/144-159).
 */
export function needsWorker(e: Pick<PlanEntry, 'kind' | 'action'>): boolean {
  return (e.kind === 'sync' && e.action !== 'noop') || (e.kind === 'distribution' && e.action === 'create');
}

/** reachable, degraded (answers, but no online worker) or unreachable. */
export function healthOf(site: ObservedSite | undefined): SiteHealth {
  if (!site?.reachable) return 'unreachable';
  return site.onlineWorkers === 0 ? 'degraded' : 'reachable';
}

/** The site line's message for a degraded site, or null. */
export function degradedMessage(site: ObservedSite | undefined): string | null {
  return healthOf(site) === 'degraded' ? `degraded: ${NO_WORKER}; its syncs and publishes wait until one is back` : null;
}

/** Free space under the Site's `storage.freeSpaceWarning` share of the disk (default 10%). */
export function diskLow(storage: SiteStorage, warning = 0.1): boolean {
  return storage.total > 0 && storage.free / storage.total < warning;
}

/** A sync's need against a disk: its bytes plus a block per file. */
export function syncNeed(estimate: { files: number; bytes: number }): number {
  return estimate.bytes + estimate.files * PER_FILE_OVERHEAD;
}

/** What plan says about one site's disk for this pass. */
export interface SiteBudgetReport {
  /** Bytes the syncs this pass starts there will add (their estimates). */
  adds: number;
  /** Syncs held because they would not fit. */
  blocked: number;
}

/**
 * Per site, the rules above applied to tree entries in plan order (deterministic: plan visits
 * mirrors by name). A held entry becomes a noop that says why; a sync held for space is `blocked`
 * (the placement shows Blocked), one held for a missing worker waits (Pending).
 */
export class SiteHolds {
  readonly #sites: ReadonlyMap<string, ObservedSite>;
  readonly #used = new Map<string, SiteBudgetReport>();

  constructor(sites: ReadonlyMap<string, ObservedSite>) {
    this.#sites = sites;
  }

  /** False for entries whose task needs a worker at a degraded site (creating a distribution is one: real Pulp runs it on a worker). */
  allows(e: PlanEntry): boolean {
    return healthOf(this.#sites.get(e.site)) !== 'degraded' || !needsWorker(e);
  }

  /** The entry, or the noop that replaces it. */
  admit(e: TreeEntry | null): TreeEntry | null {
    if (!e || e.action === 'noop') return e;
    const site = this.#sites.get(e.site);
    const base = { site: e.site, kind: 'sync' as const, name: e.name, mirror: e.mirror, depth: e.depth, action: 'noop' as const };
    if (healthOf(site) === 'degraded') {
      return { ...base, reason: `site ${e.site} has ${NO_WORKER}: the ${e.action} waits until one is back` };
    }
    if (e.action !== 'sync') return e;
    const report = this.report(e.site);
    const storage = site?.storage ?? null;
    if (storage) {
      const need = syncNeed(e.estimate);
      const room = storage.free - report.adds - Math.ceil(storage.total * SYNC_MARGIN_SHARE);
      if (need > room) {
        report.blocked++;
        const free = Math.max(0, storage.free - report.adds);
        const others = report.adds > 0 ? ' after this pass\'s other syncs there' : '';
        return {
          ...base,
          blocked: true,
          reason: `needs ${formatBytes(need)}, ${formatBytes(free)} free at ${e.site}${others} (${Math.round(SYNC_MARGIN_SHARE * 100)}% of its disk is kept free)`,
        };
      }
      report.adds += need;
    } else {
      report.adds += syncNeed(e.estimate);
    }
    return e;
  }

  /** What this pass adds at `site` and how many syncs were held there for space. */
  report(site: string): SiteBudgetReport {
    let r = this.#used.get(site);
    if (!r) this.#used.set(site, (r = { adds: 0, blocked: 0 }));
    return r;
  }

  /** Fill in health, storage and what this pass adds on every observed site of the plan. */
  annotate(sites: PlanSite[]): void {
    for (const s of sites) {
      const o = this.#sites.get(s.name);
      if (!s.reachable || !o) continue;
      const report = this.report(s.name);
      s.health = healthOf(o) === 'degraded' ? 'degraded' : 'reachable';
      s.storage = o.storage ?? null;
      s.adds = report.adds;
      const notes = [
        degradedMessage(o),
        o.storage === null ? 'status/ gives no storage figure (object storage?): syncs are not checked against free space' : null,
        report.blocked ? `${report.blocked} sync${report.blocked === 1 ? '' : 's'} held: not enough free space` : null,
      ].filter((x) => x !== null);
      if (notes.length) s.message = [s.message, ...notes].filter(Boolean).join('; ');
    }
  }
}

/** `disk: this pass adds 12.0 MiB, 1.1 GiB free of 20.0 GiB`, or null when the site was not observed or Pulp gives no figure. */
export function diskLine(s: PlanSite): string | null {
  if (!s.reachable || !s.storage) return null;
  return `disk: this pass adds ${formatBytes(s.adds ?? 0)}, ${formatBytes(s.storage.free)} free of ${formatBytes(s.storage.total)}`;
}
