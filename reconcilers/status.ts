/**
 * The status of every mirror × site and every site after a pass (core/status.ts types), from the
 * observed world (re-read after apply), the plan and what apply did. Pure.
 */
import type { LastSync, MirrorSiteStatus, MirrorState, MirrorStatus, SiteStatus } from '../core/status.js';
import { entryDoing, type DesiredState, type ObservedState, type Plan, type PlanEntry } from './plan-types.js';
import { formatBytes } from '../core/units.js';
import { withoutSite } from './failures.js';
import type { EntryResult } from './pass-types.js';
import { objectName, syncKey } from './names.js';
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
      const pin = remaining.pins?.get(k);
      if (m.suspend) {
        state = 'Suspended';
        message = 'suspended: pulpdist leaves this mirror alone';
      } else if (!site?.reachable) {
        // Refused credentials are this placement's own cause (Failed: the alert fires); a site that
        // does not answer is the site's state, and its placements wait for it (Pending).
        const error = withoutSite(p.site, site?.error ?? 'not observed');
        state = site?.refused ? 'Failed' : 'Pending';
        message = site?.refused ? `site ${p.site}: ${error}` : `site ${p.site} is unreachable: ${error}`;
      } else if (f?.result === 'failed') {
        state = 'Failed';
        message = `${entryDoing(f.entry)} failed: ${f.message ?? ''}`.trim();
      } else if (p.feeder === null && source && 'error' in source && !source.waiting) {
        // Only the origin reads the source; the sites below keep serving what they have.
        state = 'Failed';
        message = `source unreadable: ${source.error}`;
      } else if (f?.result === 'skipped') {
        state = 'Pending';
        message = f.message ?? 'skipped';
      } else if (pin && todo.length === 0 && tree && (pin.digest === null || tree.digest === pin.digest)) {
        // Intended: it serves the tree it is pinned to (or holds), not the source's.
        state = 'Synced';
        message = pin.digest ? `serves the pinned tree ${pin.digest.slice(0, 12)}…${pin.version !== null ? ` (v${pin.version})` : ''}: ${pin.why}` : `holds the tree it serves: ${pin.why}`;
      } else if (todo.length === 0 && tree && (!sourceTree || tree.digest === sourceTree.digest)) {
        state = 'Synced';
        message = sourceTree ? 'publishes the source tree' : 'publishes its upstream tree (source not read)';
      } else {
        const waiting = todo.find((e) => e.action === 'noop');
        state = waiting ? (waiting.blocked ? 'Blocked' : waiting.error ? 'Failed' : 'Pending') : 'OutOfSync';
        message = waiting ? waiting.reason : todo.length ? todo.map((e) => `${entryDoing(e)}: ${e.reason}`).join('; ') : 'differs from the source';
        if (input.dryRun && !waiting && todo.some((e) => e.action === 'sync' && e.syncReason === 'never-synced')) state = 'Pending';
      }
      sites.push({
        site: p.site,
        state,
        version: pin?.version ?? versionNumber(repo?.latest_version_href),
        treeDigest: tree?.digest ?? null,
        files: tree?.files ?? null,
        bytes: tree?.bytes ?? null,
        lastSync: input.lastSync.get(k) ?? null,
        message,
        ...(pin ? { pin: { digest: pin.digest, version: pin.version, why: pin.why } } : {}),
      });
    }
    const notes = sourceTree?.notes;
    out.push({ name, origin: m.origin, treeDigest: sourceTree?.digest ?? null, sites, ...(notes?.length ? { sourceNotes: [...notes] } : {}) });
  }
  return addBlocked(out, input);
}

/**
 * The placements the mass-delete guard holds, as Blocked cells: they are still served, so they
 * must show, even when their mirror left the specs (a mirror of its own then, origin = the
 * upstream-most site that still holds it). Each says what its deletion would stop serving.
 */
function addBlocked(mirrors: MirrorStatus[], input: StatusInput): MirrorStatus[] {
  const { remaining, observed } = input;
  if (!remaining.blockedDeletes) return mirrors;
  const held = new Map<string, { mirror: string; site: string; depth: number; reason: string; files: number; bytes: number; dist: string | null }>();
  for (const e of remaining.entries) {
    if (e.action !== 'delete') continue;
    const k = syncKey(e.mirror, e.site);
    const h = held.get(k) ?? { mirror: e.mirror, site: e.site, depth: e.depth, reason: e.reason, files: 0, bytes: 0, dist: null };
    if (e.kind === 'distribution') Object.assign(h, { files: e.stops.files, bytes: e.stops.bytes, dist: e.name });
    held.set(k, h);
  }
  const byName = new Map(mirrors.map((m) => [m.name, { ...m, sites: [...m.sites] }]));
  for (const h of [...held.values()].sort((a, b) => a.depth - b.depth || cmp(a.site, b.site))) {
    const site = observed.sites.get(h.site);
    const tree = h.dist ? site?.published.get(h.dist) ?? null : null;
    const repo = site?.repositories.get(objectName(h.mirror));
    const m = byName.get(h.mirror) ?? { name: h.mirror, origin: h.site, treeDigest: null, sites: [] };
    byName.set(h.mirror, m);
    m.sites.push({
      site: h.site,
      state: 'Blocked',
      version: versionNumber(repo?.latest_version_href),
      treeDigest: tree?.digest ?? null,
      files: tree?.files ?? null,
      bytes: tree?.bytes ?? null,
      lastSync: input.lastSync.get(syncKey(h.mirror, h.site)) ?? null,
      message: `held by the mass-delete guard: ${h.reason}; deleting it would stop serving ${h.files} file${h.files === 1 ? '' : 's'} (${formatBytes(h.bytes)}) here`,
    });
  }
  return [...byName.values()].map((m) => ({ ...m, sites: m.sites.sort((a, b) => cmp(a.site, b.site)) })).sort((a, b) => cmp(a.name, b.name));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
        // The cause alone: `reachable: false` already says unreachable, and readers prefix the name.
        message: degradedMessage(o) ?? (o?.reachable ? (o.embedded ? 'pulpdist site' : 'Pulp') : withoutSite(s.name, o?.error ?? 'not observed')),
      };
    });
}
