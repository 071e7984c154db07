/**
 * When the controller runs each site's orphan cleanup (issue 22; reconcilers/cleanup.ts runs it).
 * It runs after a pass, inside the same cycle: passes never overlap, so a cleanup never runs
 * during this controller's syncs, and the next pass waits for it. Per site, at most one at a time
 * (the sites of one round run in parallel, one cleanup each). A site is due:
 *  - every `orphanCleanup.interval` (default a day), counted from the controller's start: a
 *    controller that restarts often does not clean each time;
 *  - after a pass that removed mirrors there or synced there (with `retainVersions`, a sync drops
 *    the oldest version), at most once an hour, or once per protection time when that is longer
 *    (orphans younger than it are kept anyway, so sooner would find the same ones; on a large Pulp
 *    a cleanup scans every content unit), and never more often than the interval.
 * Degraded or unreachable sites wait; a cleanup skipped because syncs are running there (another
 * writer's) is tried again after the next pass. The last result per site goes into the status
 * document (SiteStatus.lastCleanup) every pass.
 */
import type { Logger } from '../core/logger.js';
import type { SiteStatus } from '../core/status.js';
import type { PulpClient } from '../pulp/types.js';
import { cleanupSite, type CleanupResult } from '../reconcilers/cleanup.js';
import type { PassResult } from '../reconcilers/pass-types.js';
import { SPEC_DEFAULTS } from '../spec/normalize.js';
import type { SiteSpec, SpecSet } from '../spec/types.js';

/** The shortest gap between two cleanups a pass asks for, whatever the protection time. */
const MIN_DIRTY_GAP_MS = 3_600_000;

export interface CleanupScheduleDeps {
  log: Logger;
  now: () => Date;
}

export class CleanupSchedule {
  readonly #deps: CleanupScheduleDeps;
  readonly #startedAt: number;
  /** Epoch ms of the last cleanup that ran (completed or failed), per site. */
  readonly #last = new Map<string, number>();
  readonly #dirty = new Set<string>();
  readonly #results = new Map<string, CleanupResult>();

  constructor(deps: CleanupScheduleDeps) {
    this.#deps = deps;
    this.#startedAt = deps.now().getTime();
  }

  /** The sites whose cleanup is due now, given what the pass just did. */
  due(specs: SpecSet, result: PassResult): SiteSpec[] {
    const now = this.#deps.now().getTime();
    for (const e of result.plan?.entries ?? []) {
      if ((e.action === 'delete' && e.kind === 'repository') || e.action === 'sync') this.#dirty.add(e.site);
    }
    const health = new Map(result.sites.map((s) => [s.name, s.state ?? (s.reachable ? 'reachable' : 'unreachable')]));
    return specs.sites.filter((s) => {
      const c = s.orphanCleanup ?? { enabled: true, intervalMs: SPEC_DEFAULTS.orphanCleanupIntervalMs, protectionMs: SPEC_DEFAULTS.orphanProtectionMs };
      if (!c.enabled || health.get(s.name) !== 'reachable') return false;
      const since = now - (this.#last.get(s.name) ?? this.#startedAt);
      if (since >= c.intervalMs) return true;
      return this.#dirty.has(s.name) && since >= Math.min(c.intervalMs, Math.max(c.protectionMs, MIN_DIRTY_GAP_MS));
    });
  }

  /** After a pass: run the due cleanups (in parallel across sites) and put every site's last one into `result.sites`. */
  async afterPass(specs: SpecSet, result: PassResult, clients: ReadonlyMap<string, PulpClient>, opts: { signal: AbortSignal }): Promise<void> {
    const { log, now } = this.#deps;
    const due = this.due(specs, result);
    await Promise.all(due.map(async (s) => {
      const client = clients.get(s.name);
      if (!client) return;
      let r: CleanupResult;
      try {
        r = await cleanupSite(s.name, client, { signal: opts.signal, now, protectionMs: s.orphanCleanup?.protectionMs ?? SPEC_DEFAULTS.orphanProtectionMs });
      } catch (err) {
        // Shutdown, the deadline or a newer commit: the pass before it is done and its result
        // stands; the cleanup is due again after the next pass.
        if (opts.signal.aborted) {
          log.info('orphan cleanup interrupted', { site: s.name });
          return;
        }
        throw err;
      }
      if (r.result === 'skipped') {
        log.info('orphan cleanup postponed', { site: s.name, reason: r.message });
        return;
      }
      this.#last.set(s.name, Date.parse(r.finishedAt));
      this.#results.set(s.name, r);
      if (r.result === 'failed') {
        log.warn('orphan cleanup failed', { site: s.name, error: r.message });
        return;
      }
      this.#dirty.delete(s.name);
      log.info('orphan cleanup', {
        site: s.name, removedContent: r.removed?.content ?? null, removedArtifacts: r.removed?.artifacts ?? null,
        reclaimedBytes: r.reclaimedBytes, ms: Date.parse(r.finishedAt) - Date.parse(r.startedAt),
      });
    }));
    for (const site of result.sites) this.annotate(site);
  }

  /** Add the site's last cleanup (and the storage it left, when the pass saw none newer) to its status. */
  annotate(site: SiteStatus): void {
    const r = this.#results.get(site.name);
    if (!r) return;
    site.lastCleanup = {
      startedAt: r.startedAt, finishedAt: r.finishedAt, result: r.result === 'completed' ? 'completed' : 'failed',
      removedContent: r.removed?.content ?? null, removedArtifacts: r.removed?.artifacts ?? null, reclaimedBytes: r.reclaimedBytes,
      task: r.task, message: r.message,
    };
    if (r.storage && Date.parse(r.finishedAt) >= Date.parse(site.lastSeen ?? '')) site.storage = r.storage;
  }
}
