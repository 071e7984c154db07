/**
 * plan = a pure function of (desired, observed, clock). It pairs desired placements with managed
 * objects by name, dispatches to one planner per kind, adds the prunes, applies the safety rules
 * and sorts. No clock, env or network: the same inputs always give the same Plan.
 */
import { formatBytes } from '../core/units.js';
import type { FileDistribution, FileRemote, FileRepository } from '../pulp/types.js';
import type { SiteSpec } from '../spec/types.js';
import { withoutSite } from './failures.js';
import { CONTROLLER_LABEL, isManaged, mirrorOf, ownershipOf, syncKey } from './names.js';
import type {
  DesiredState, EntryKind, ObservedState, Plan, PlacementError, PlacementPin, PlanConflict, PlanEntry, PlanOptions, PlanSite, PlanSummary, TreeSummary,
} from './plan-types.js';
import { planDistribution } from './distribution.js';
import { planServe, planServedDistribution, servedPlacement, type ServePlan } from './plan-pin.js';
import { planRemote } from './remote.js';
import { planRepository } from './repository.js';
import { SiteHolds } from './site-health.js';
import { planSync } from './sync.js';

const KIND_ORDER: Record<EntryKind, number> = { repository: 0, remote: 1, distribution: 2, sync: 3, publication: 4 };

/** The total order of entries: upstream depth, kind, name, site (gitops-engine's sync-task `Less`). */
export function compareEntries(a: PlanEntry, b: PlanEntry): number {
  return a.depth - b.depth || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || cmp(a.name, b.name) || cmp(a.site, b.site) || cmp(a.action, b.action);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Hops from a site with no upstream, along `upstream`. */
export function siteDepth(name: string, sites: ReadonlyMap<string, SiteSpec>): number {
  let d = 0;
  const seen = new Set([name]);
  for (let cur = sites.get(name)?.upstream; cur !== undefined && !seen.has(cur); cur = sites.get(cur)?.upstream) {
    seen.add(cur);
    d++;
  }
  return d;
}

/** Compute the plan. Entries for sites outside `opts.sites` are computed (they feed others) but left out. */
export function plan(desired: DesiredState, observed: ObservedState, opts: PlanOptions): Plan {
  const entries: PlanEntry[] = [];
  const warnings: string[] = [];
  const conflicts: PlanConflict[] = [];
  const errors: PlacementError[] = [];
  const pins = new Map<string, PlacementPin>();
  const sites = planSites(desired, observed, warnings);
  // Degraded sites and full disks hold their syncs (site-health.ts); the rest of the pass goes on.
  const holds = new SiteHolds(observed.sites);

  // What each placement will publish once this plan has run: a tree, or why it is unknown.
  const willPublish = new Map<string, TreeSummary | string>();
  for (const m of [...desired.mirrors.values()].sort((a, b) => cmp(a.name, b.name))) {
    if (m.suspend) continue; // left alone: no change, no sync, no prune
    const source = observed.sources.get(m.name);
    // Pins and holds are rare: a mirror without any plans exactly as before (serve-target.ts).
    const targeted = m.placements.some((x) => x.serve.kind !== 'latest');
    for (const p of m.placements) {
      const key = syncKey(m.name, p.site);
      const site = observed.sites.get(p.site);
      if (!site?.reachable) {
        willPublish.set(key, `upstream ${p.site} is unreachable`);
        continue;
      }
      const owner = site.foreign?.get(p.repository.name) ?? site.foreign?.get(p.remote.name) ?? site.foreign?.get(p.distribution.name);
      if (owner !== undefined) {
        // Another controller's mirror of the same name: never touched, and nothing syncs from it.
        conflicts.push({ site: p.site, mirror: m.name, name: p.repository.name, owner });
        warnings.push(conflictSentence(p.site, m.name, p.repository.name, owner));
        willPublish.set(key, `upstream ${p.site}'s ${p.repository.name} belongs to controller ${owner}`);
        continue;
      }
      const repo = site.repositories.get(p.repository.name);
      const remote = site.remotes.get(p.remote.name);
      const dist = site.distributions.get(p.distribution.name);
      const published = dist ? site.published.get(dist.name) ?? null : null;
      const serve: ServePlan = targeted
        ? planServe({ mirror: m, placement: p, sites: desired.sites, retained: observed.retained, willPublish: (s) => willPublish.get(syncKey(m.name, s)), published })
        : { kind: 'latest' };
      const q = servedPlacement(serve, p, remote);
      for (const [e, o] of [
        [planRepository(q, repo), repo],
        [planRemote(q, remote, site.embedded), remote],
        [serve.kind === 'latest' && !dist?.publication ? planDistribution(q, dist, repo) : planServedDistribution(serve, q, dist, repo, published), dist],
      ] as const) if (e && holds.allows(e)) entries.push(adopting(e, o, desired.controller));

      if (serve.kind !== 'latest') pins.set(key, serve.pin);
      if (serve.kind === 'serve') {
        // Serves a tree it retains: no sync (a new version would eventually prune the pinned one).
        willPublish.set(key, serve.tree);
        continue;
      }
      if (serve.kind === 'keep') {
        willPublish.set(key, published ?? `upstream ${p.site} holds and publishes nothing`);
        continue;
      }
      if (serve.kind === 'error') {
        errors.push({ site: p.site, mirror: m.name, message: serve.message });
        warnings.push(`mirror ${m.name} at site ${p.site}: ${serve.message}`);
        entries.push({ site: p.site, kind: 'sync', name: p.repository.name, mirror: m.name, depth: p.depth, action: 'noop', reason: serve.message, error: true });
        willPublish.set(key, `upstream ${p.site}: ${serve.message}`);
        continue;
      }

      let want: TreeSummary | string;
      if (serve.kind === 'pull') want = serve.want;
      else if (p.feeder === null) {
        if (!source) want = 'source not read';
        else if ('error' in source) want = source.waiting ? `waiting: ${source.error}` : `source unreadable: ${source.error}`;
        else {
          want = source;
          for (const note of source.notes ?? []) warnings.push(`mirror ${m.name}: ${note}`);
        }
      } else {
        const f = willPublish.get(syncKey(m.name, p.feeder));
        want = f === undefined ? `upstream ${p.feeder} not planned` : typeof f === 'string' ? `waiting: ${f}` : f;
      }
      const sync = holds.admit(planSync({
        mirror: m, placement: q, repository: repo, remote, distribution: dist, published, want,
        unpublished: dist ? site.unpublished?.get(dist.name) : undefined,
        now: opts.now, lastSyncAt: opts.lastSyncAt?.get(key),
      }));
      if (sync) entries.push(serve.kind === 'pull' && sync.action === 'sync' ? { ...sync, reason: serve.reason } : sync);
      if (typeof want !== 'string' && (!sync || sync.action === 'sync')) willPublish.set(key, want);
      else if (sync?.action === 'publish') willPublish.set(key, `upstream ${p.site} is publishing its latest version`);
      else willPublish.set(key, published ?? `upstream ${p.site} publishes nothing yet`);
    }
  }

  holds.annotate(sites);
  entries.push(...prunes(desired, observed, warnings));
  const guard = massDeleteGuard(entries, observed);
  const allowed = opts.allowMassDelete ?? false;
  const blockedDeletes = guard && !allowed ? `${guard}; held until approved: ${MASS_DELETE_APPROVAL}` : null;
  if (blockedDeletes) warnings.push(blockedDeletes);
  else if (guard) warnings.push(`${guard}; approved by ${opts.massDeleteApprovedBy ?? '--allow-mass-delete'}`);

  const only = opts.sites ? new Set(opts.sites) : null;
  const kept = (only ? entries.filter((e) => only.has(e.site)) : entries).sort(compareEntries);
  return {
    entries: kept,
    sites: only ? sites.filter((s) => only.has(s.name)) : sites,
    warnings,
    conflicts: only ? conflicts.filter((c) => only.has(c.site)) : conflicts,
    ...(desired.controller ? { controller: desired.controller } : {}),
    summary: summarize(kept),
    blockedDeletes,
    ...(errors.length ? { errors } : {}),
    ...(pins.size ? { pins } : {}),
  };
}


/** The plan's line for a name another controller holds: who, and what to do about it. */
export function conflictSentence(site: string, mirror: string, name: string, owner: string): string {
  return `site ${site}: mirror ${mirror} is not planned there: ${name} belongs to controller ${owner} ` +
    `(label ${CONTROLLER_LABEL}=${owner}) and is left untouched; rename the mirror in one of the two spec sets, ` +
    `or remove it from the other`;
}

/**
 * An update of an object made before controller ids (no owner label) is its adoption: the desired
 * labels add this controller's id, once; the plan says so.
 */
function adopting(e: PlanEntry, observed: { pulp_labels?: Record<string, string> | null } | undefined, controller: string | undefined): PlanEntry {
  if (!controller || !observed || e.action !== 'update' || ownershipOf(observed.pulp_labels, controller) !== 'unowned') return e;
  return { ...e, reason: `adopt: made before controller ids, labelled ${CONTROLLER_LABEL}=${controller} from now on; ${e.reason}` };
}

function planSites(desired: DesiredState, observed: ObservedState, warnings: string[]): PlanSite[] {
  const out: PlanSite[] = [];
  // Upstream sites first, as the syncs flow.
  const depthOf = (s: SiteSpec) => siteDepth(s.name, desired.sites);
  for (const spec of [...desired.sites.values()].sort((a, b) => depthOf(a) - depthOf(b) || cmp(a.name, b.name))) {
    const { name } = spec;
    const o = observed.sites.get(name);
    if (!o?.reachable) {
      out.push({ name, reachable: false, embedded: false, pulpVersion: null, message: `unreachable: ${withoutSite(name, o?.error ?? 'not observed')}; nothing is planned or pruned there` });
      continue;
    }
    out.push({ name, reachable: true, embedded: o.embedded, pulpVersion: o.pulpVersion, message: '' });
    // A shaper at the site enforces the cap whatever Pulp it runs (`limits.shaper`).
    if (!o.embedded && spec.limits.bandwidth !== undefined && spec.limits.shaper === undefined) {
      warnings.push(
        `site ${name} runs Pulp ${o.pulpVersion ?? '(unknown version)'}, which cannot cap bytes per second: limits.bandwidth ` +
          `(${formatBytes(spec.limits.bandwidth)}/s) is not enforced there; only concurrentSyncs (${spec.limits.concurrentSyncs}) limits its syncs (name a pulpdist shaper in limits.shaper to enforce it)`,
      );
    }
  }
  return out;
}

/**
 * Deletes of managed objects no placement wants. Only objects observed with the managed label
 * qualify (observe lists nothing else, and this checks again); unobserved sites and suspended
 * mirrors are never pruned. With a controller id, only this controller's own objects: one made
 * before ids that nobody here wants may be another spec set's, not adopted yet (one warning).
 */
function prunes(desired: DesiredState, observed: ObservedState, warnings: string[]): PlanEntry[] {
  const out: PlanEntry[] = [];
  for (const site of observed.sites.values()) {
    if (!site.reachable) continue;
    const wanted = new Set<string>();
    for (const m of desired.mirrors.values()) {
      for (const p of m.placements) if (p.site === site.name) wanted.add(p.repository.name);
    }
    const unowned = new Set<string>();
    const keep = (o: { name: string; pulp_labels: Record<string, string> }) => {
      if (!isManaged(o.pulp_labels) || wanted.has(o.name)) return true;
      if (ownershipOf(o.pulp_labels, desired.controller) !== 'own') {
        unowned.add(o.name);
        return true;
      }
      return desired.mirrors.get(mirrorOf(o))?.suspend === true;
    };
    const depth = siteDepth(site.name, desired.sites);
    const stopsOf = new Map<string, { files: number; bytes: number }>();
    for (const d of site.distributions.values()) {
      if (keep(d)) continue;
      const t = site.published.get(d.name);
      const s = stopsOf.get(mirrorOf(d)) ?? { files: 0, bytes: 0 };
      stopsOf.set(mirrorOf(d), { files: s.files + (t?.files ?? 0), bytes: s.bytes + (t?.bytes ?? 0) });
    }
    const add = (kind: 'repository' | 'remote' | 'distribution', objs: Iterable<FileRepository | FileRemote | FileDistribution>) => {
      for (const o of objs) {
        if (keep(o)) continue;
        const mirror = mirrorOf(o);
        const inSpecs = desired.mirrors.has(mirror);
        out.push({
          site: site.name, kind, name: o.name, mirror, depth, action: 'delete',
          reason: inSpecs ? `mirror ${mirror} no longer lists site ${site.name}` : `mirror ${mirror} is gone from the specs`,
          stops: kind === 'remote' ? { files: 0, bytes: 0 } : stopsOf.get(mirror) ?? { files: 0, bytes: 0 },
          op: { href: o.pulp_href },
        });
      }
    };
    add('repository', site.repositories.values());
    add('remote', site.remotes.values());
    add('distribution', site.distributions.values());
    if (unowned.size > 0) {
      const names = [...unowned].sort();
      warnings.push(
        `site ${site.name}: ${names.length} object name${names.length === 1 ? '' : 's'} made before controller ids and not wanted here ` +
          `(${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}) left alone: another spec set may adopt ${names.length === 1 ? 'it' : 'them'}; ` +
          `delete by hand what nobody wants`,
      );
    }
  }
  return out;
}

/** How a held mass delete is approved: Git for the controller, a flag for one `apply`. */
export const MASS_DELETE_APPROVAL = 'the trailer "Pulpdist-Allow-Mass-Delete: yes" on the spec commit, or apply --allow-mass-delete';

/**
 * The mass-delete guard: deletes that would remove more than half of the managed placements
 * (mirror × site) seen are held, so that a broken commit that drops a directory of specs cannot
 * empty the network. Returns the one sentence that says what would go, or null when the deletes
 * are few enough. One sentence per plan, never one per entry: 18 held deletes are one decision.
 */
function massDeleteGuard(entries: PlanEntry[], observed: ObservedState): string | null {
  const managed = new Set<string>();
  for (const s of observed.sites.values()) {
    if (!s.reachable) continue;
    for (const objs of [s.repositories, s.remotes, s.distributions]) {
      for (const o of objs.values()) if (isManaged(o.pulp_labels)) managed.add(syncKey(mirrorOf(o), s.name));
    }
  }
  const deletes = entries.filter((e) => e.action === 'delete');
  const doomed = new Set(deletes.map((e) => syncKey(e.mirror, e.site)));
  if (doomed.size === 0 || doomed.size * 2 <= managed.size) return null;
  const mirrors = new Set(deletes.map((e) => e.mirror));
  let files = 0;
  let bytes = 0;
  // A placement's distribution carries what stops being served (plan's prunes put it there).
  for (const e of deletes) {
    if (e.kind !== 'distribution') continue;
    files += e.stops.files;
    bytes += e.stops.bytes;
  }
  return (
    `mass delete: ${doomed.size} of ${managed.size} managed mirror placements would be deleted (${mirrors.size} mirror${mirrors.size === 1 ? '' : 's'}: ` +
    `${[...mirrors].sort().slice(0, 5).join(', ')}${mirrors.size > 5 ? ', …' : ''}), more than half; ` +
    `${files} file${files === 1 ? '' : 's'} (${formatBytes(bytes)}) would stop being served`
  );
}

/** Counts by action and the total transfer of the syncs. */
export function summarize(entries: readonly PlanEntry[]): PlanSummary {
  const s: PlanSummary = { create: 0, update: 0, delete: 0, sync: 0, publish: 0, files: 0, bytes: 0 };
  for (const e of entries) {
    if (e.action === 'noop') continue;
    s[e.action]++;
    if (e.estimate) {
      s.files += e.estimate.files;
      s.bytes += e.estimate.bytes;
    }
  }
  return s;
}

/** True when the plan would change anything (what `plan`'s exit code 2 means). */
export function hasChanges(p: Plan): boolean {
  const s = p.summary;
  return s.create + s.update + s.delete + s.sync + s.publish > 0;
}
