/**
 * The status of every mirror × site and every site after a pass (core/status.ts types), from the
 * observed world (re-read after apply), the plan and what apply did. Pure.
 */
import type { LastSync, MirrorSiteStatus, MirrorState, MirrorStatus, SiteStatus } from '../core/status.js';
import { entryDoing, type DesiredState, type ObservedState, type Plan, type PlanEntry } from './plan-types.js';
import type { EntryResult } from './pass-types.js';
import { syncKey } from './names.js';
import { degradedMessage, diskLow, healthOf } from './site-health.js';

export interface StatusInput {
  desired: DesiredState;
  /** The world as it is now: re-observed after apply, or the observation the plan used. */
  observed: ObservedState;
  /** What still differs (a plan over `observed`); empty when converged. */
  remaining: Plan;
  /** Results of this pass's apply, if it ran. */
  results: readonly EntryResult[];
  lastSync: ReadonlyMap<string, LastSync>;
  /** True when nothing was applied (plan only). */
  dryRun: boolean;
}


function versionNumber(href: string | undefined): number | null {
  const m = href ? /\/versions\/(\d+)\/$/.exec(href) : null;
  return m ? Number(m[1]) : null;
}

/** Per mirror, per site of the mirror, the state and a human message. */
export function mirrorStatuses(input: StatusInput): MirrorStatus[] {
  const { desired, observed, remaining } = input;
  const pending = new Map<string, PlanEntry[]>();
  for (const e of remaining.entries) {
    const k = syncKey(e.mirror, e.site);
    pending.set(k, [...(pending.get(k) ?? []), e]);
  }
  const failed = new Map<string, EntryResult>();
  for (const r of input.results) {
    const k = syncKey(r.entry.mirror, r.entry.site);
    if (r.result !== 'succeeded' && !failed.has(k)) failed.set(k, r);
  }
  const out: MirrorStatus[] = [];
  for (const m of [...desired.mirrors.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const { name } = m;
    const source = observed.sources.get(name);
    const sourceTree = source && !('error' in source) ? source : null;
    const sites: MirrorSiteStatus[] = [];
    for (const p of [...m.placements].sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0))) {
      const k = syncKey(name, p.site);
      const site = observed.sites.get(p.site);
      const repo = site?.repositories.get(p.repository.name);
      const dist = site?.distributions.get(p.distribution.name);
      const tree = dist ? site?.published.get(dist.name) ?? null : null;
      let state: MirrorState;
      let message: string;
      const f = failed.get(k);
      const todo = pending.get(k) ?? [];
      if (m.suspend) {
        state = 'Suspended';
        message = 'suspended: pulpdist leaves this mirror alone';
      } else if (!site?.reachable) {
        state = 'Pending';
        message = `site ${p.site} is unreachable: ${site?.error ?? 'not observed'}`;
      } else if (f?.result === 'failed') {
        state = 'Failed';
        message = `${entryDoing(f.entry)} failed: ${f.message ?? ''}`.trim();
      } else if (f?.result === 'skipped') {
        state = 'Pending';
        message = f.message ?? 'skipped';
      } else if (todo.length === 0 && tree && (!sourceTree || tree.digest === sourceTree.digest)) {
        state = 'Synced';
        message = sourceTree ? 'publishes the source tree' : 'publishes its upstream tree (source not read)';
      } else {
        const waiting = todo.find((e) => e.action === 'noop');
        state = waiting ? (waiting.blocked ? 'Blocked' : 'Pending') : 'OutOfSync';
        message = waiting ? waiting.reason : todo.length ? todo.map((e) => `${entryDoing(e)}: ${e.reason}`).join('; ') : 'differs from the source';
        if (input.dryRun && !waiting && todo.some((e) => e.action === 'sync' && e.syncReason === 'never-synced')) state = 'Pending';
      }
      sites.push({
        site: p.site,
        state,
        version: versionNumber(repo?.latest_version_href),
        treeDigest: tree?.digest ?? null,
        files: tree?.files ?? null,
        bytes: tree?.bytes ?? null,
        lastSync: input.lastSync.get(k) ?? null,
        message,
      });
    }
    out.push({ name, origin: m.origin, treeDigest: sourceTree?.digest ?? null, sites });
  }
  return out;
}

/** Per site: reachable, Pulp version, last seen. */
export function siteStatuses(desired: DesiredState, observed: ObservedState, lastSeen: ReadonlyMap<string, string>): SiteStatus[] {
  return [...desired.sites.values()]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((s) => {
      const o = observed.sites.get(s.name);
      return {
        name: s.name,
        url: s.pulp.url,
        upstream: s.upstream ?? null,
        reachable: !!o?.reachable,
        state: healthOf(o),
        ...(o?.storage !== undefined ? { storage: o.storage } : {}),
        ...(o?.storage ? { diskLow: diskLow(o.storage, s.storage?.freeSpaceWarning) } : {}),
        pulpVersion: o?.pulpVersion ?? null,
        lastSeen: o?.seenAt ?? lastSeen.get(s.name) ?? null,
        message: degradedMessage(o) ?? (o?.reachable ? (o.embedded ? 'pulpdist site' : 'Pulp') : `unreachable: ${o?.error ?? 'not observed'}`),
      };
    });
}
