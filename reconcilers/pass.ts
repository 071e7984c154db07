/**
 * One reconcile pass: observe every site and source → plan (pure) → apply (unless dry run) →
 * re-observe → status of every mirror × site. `pulpdist plan`, `pulpdist apply`, the controller
 * and the benchmarks all come through here, so they share one code path.
 */
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { SpecSet } from '../spec/types.js';
import { apply } from './apply.js';
import { desiredState } from './desired.js';
import { mirrorOf, syncKey } from './names.js';
import { loadMissingEntries, observeSites } from './observe.js';
import { PassFailure } from './failures.js';
import type { ApplyResult, PassDeps, PassMemory, PassOptions, PassResult } from './pass-types.js';
import { conflictSentence, hasChanges, plan as computePlan } from './plan.js';
import type { DesiredState, ObservedState, Plan } from './plan-types.js';
import { PublishedCache } from './published-cache.js';
import { readSources } from './source.js';
import { observeRetained } from './retained.js';
import { nextSoakEnd, passRollouts, rolloutPlanLines, rolloutServe, rolloutStep, withRollouts, type RolloutPassResult } from './rollout-pass.js';
import { mirrorStatuses, siteStatuses } from './status.js';
import { nextDue } from './sync.js';

export { apply } from './apply.js';
export { observeSites } from './observe.js';
export { plan } from './plan.js';

/** A fresh PassMemory: create one per caller and give the same one to each of its passes. */
export function createPassMemory(published = new PublishedCache()): PassMemory {
  return { published, lastSyncAt: new Map(), lastSync: new Map(), lastSeen: new Map(), phases: {}, versionTrees: new Map(), rollouts: new Map() };
}

/** What plan and apply need, computed once. */
export interface Prepared {
  desired: DesiredState;
  observed: ObservedState;
  plan: Plan;
  /** Whether a mass delete is allowed in this pass, and by whom (the re-plan after apply keeps it). */
  massDelete: { allow: boolean; by: string | undefined };
}

/** Observe every site and every (non-suspended) source, then plan. Changes nothing in Pulp. */
export async function preparePlan(specs: SpecSet, deps: PassDeps, opts: PassOptions): Promise<Prepared> {
  const { signal } = opts;
  // Hundreds of requests share this signal, each with its own abort listener.
  setMaxListeners(0, signal);
  const { memory } = deps;
  const controller = opts.controllerId ? { controller: opts.controllerId } : {};
  const desire = (serve: PassOptions['serve']) =>
    desiredState(specs, { ...controller, ...(serve ? { serve } : {}), ...(deps.sources.viewsDir ? { sourceViews: deps.sources.viewsDir } : {}) });
  let desired = desire(opts.serve);
  const active = [...desired.mirrors.values()].filter((m) => !m.suspend);
  // Phase durations for the debug log (`pass phases`): where a slow pass spends its time.
  const t0 = performance.now();
  const timed = <T>(p: Promise<T>, key: string): Promise<T> => p.finally(() => void (memory.phases[key] = Math.round(performance.now() - t0)));
  memory.phases = {};
  const [sites, sourceTrees] = await Promise.all([
    timed(observeSites(specs.sites, deps.clients, memory.published, { signal, now: deps.now, ...controller }), 'observeMs'),
    timed(readSources(active, deps.sources, { signal }), 'sourcesMs'),
  ]);
  const loaded = await loadMissingEntries({ sites, sources: sourceTrees }, deps.clients, memory.published, (site, dist) => {
    const m = desired.mirrors.get(mirrorOf(dist));
    return m && m.placements.some((p) => p.site === site) ? sourceTrees.get(m.name) : undefined;
  }, { signal });
  // What each placement must serve this pass under its mirror's rollout, from what the sites serve:
  // the desired state again with those targets (pure), before the retained trees are read for them.
  const rolled = await evaluateRollouts(specs, loaded, deps, signal);
  if (rolled?.overrides.size) desired = desire(rolloutServe(rolled.overrides, opts.serve));
  // The retained trees of pinned placements only (none without pins: no call).
  const trees = memory.versionTrees ? { trees: memory.versionTrees } : {};
  const observed: ObservedState = { ...loaded, retained: await observeRetained(desired, loaded, deps.clients, { signal, ...trees }) };
  const now = deps.now();
  seedSchedules(desired, memory, now);
  for (const s of sites.values()) if (s.seenAt) memory.lastSeen.set(s.name, s.seenAt);
  let massDelete = { allow: opts.allowMassDelete ?? false, by: opts.massDeleteApprovedBy };
  const planWith = () => computePlan(desired, observed, {
    now,
    lastSyncAt: memory.lastSyncAt,
    allowMassDelete: massDelete.allow,
    ...(massDelete.by ? { massDeleteApprovedBy: massDelete.by } : {}),
    ...(opts.sites ? { sites: opts.sites } : {}),
  });
  let plan = planWith();
  if (plan.blockedDeletes && opts.approveMassDelete) {
    const by = await opts.approveMassDelete();
    if (by) {
      massDelete = { allow: true, by };
      plan = planWith();
    }
  }
  if (memory.rollouts.size) plan.rollouts = rolloutPlanLines(specs, observed, memory.rollouts, now);
  memory.phases.prepareMs = Math.round(performance.now() - t0);
  return { desired, observed, plan, massDelete };
}

/**
 * Evaluate every mirror's rollout (rollout-pass.ts) and keep the records in memory; null (and no
 * record kept) when no mirror has spec.rollout, so that a pass without rollouts pays nothing.
 */
async function evaluateRollouts(specs: SpecSet, observed: ObservedState, deps: PassDeps, signal: AbortSignal): Promise<RolloutPassResult | null> {
  if (!specs.mirrors.some((m) => m.rollout)) {
    deps.memory.rollouts.clear();
    return null;
  }
  const result = await passRollouts(specs, observed, {
    records: deps.memory.rollouts, lastSync: deps.memory.lastSync, now: deps.now(), signal, ...(deps.probe ? { probe: deps.probe } : {}),
  });
  deps.memory.rollouts = result.rollouts;
  return result;
}

/**
 * A schedule counts from the first time this process saw the placement, so that a restart does
 * not sync every scheduled mirror at once; a real sync time replaces it.
 */
function seedSchedules(desired: DesiredState, memory: PassMemory, now: Date): void {
  for (const m of desired.mirrors.values()) {
    if (!m.schedule) continue;
    for (const p of m.placements) {
      const k = syncKey(m.name, p.site);
      if (!memory.lastSyncAt.has(k)) memory.lastSyncAt.set(k, now);
    }
  }
}

/** When each scheduled mirror's next sync comes due (its earliest placement), by mirror name. */
function mirrorsDue(desired: DesiredState, memory: PassMemory): Map<string, Date> {
  const out = new Map<string, Date>();
  for (const m of desired.mirrors.values()) {
    if (!m.schedule || m.suspend) continue;
    for (const p of m.placements) {
      const last = memory.lastSyncAt.get(syncKey(m.name, p.site));
      if (!last) continue;
      const due = nextDue(m.schedule, last);
      const best = out.get(m.name);
      if (!best || due < best) out.set(m.name, due);
    }
  }
  return out;
}

function earliest(dates: Iterable<Date>): Date | null {
  let best: Date | null = null;
  for (const d of dates) if (!best || d < best) best = d;
  return best;
}

/** Observe, plan, apply (unless `dryRun`), and report the status of every mirror × site. */
export async function reconcilePass(specs: SpecSet, deps: PassDeps, opts: PassOptions): Promise<PassResult> {
  const prepared = await preparePlan(specs, deps, opts);
  return applyPrepared(prepared, specs, deps, opts);
}

/** The second half of a pass, for callers that showed the plan first. */
export async function applyPrepared(prepared: Prepared, specs: SpecSet, deps: PassDeps, opts: PassOptions): Promise<PassResult> {
  const { desired, observed, plan } = prepared;
  const { memory } = deps;
  const { signal } = opts;
  let applied: ApplyResult | null = null;
  let after = observed;
  let remaining = plan;
  // Where each rollout stood when this pass planned: one that moves after apply needs a pass now.
  const planned = new Map([...memory.rollouts].map(([m, r]) => [m, rolloutStep(r)] as const));
  if (!opts.dryRun) {
    const t0 = performance.now();
    applied = await apply(plan, { clients: deps.clients, log: deps.log, now: deps.now, sources: deps.sources, ...(deps.onEvent ? { onEvent: deps.onEvent } : {}) }, {
      signal, desired, sourceTrees: observed.sources,
      ...(opts.maxConcurrentSyncs ? { maxConcurrentSyncs: opts.maxConcurrentSyncs } : {}),
      ...(opts.apiConcurrency ? { apiConcurrency: opts.apiConcurrency } : {}),
    });
    for (const [k, s] of applied.syncs) {
      memory.lastSync.set(k, s);
      if (s.result === 'completed' && s.finishedAt) memory.lastSyncAt.set(k, new Date(s.finishedAt));
    }
    memory.phases.applyMs = Math.round(performance.now() - t0);
    if (applied.results.length > 0) {
      // Level-triggered: report what the sites hold now, not what we meant to do.
      const t1 = performance.now();
      const sites = await observeSites(specs.sites, deps.clients, memory.published, { signal, now: deps.now, ...(desired.controller ? { controller: desired.controller } : {}) });
      memory.phases.reobserveMs = Math.round(performance.now() - t1);
      after = { sites, sources: observed.sources };
      after = { ...after, retained: await observeRetained(desired, after, deps.clients, { signal, ...(memory.versionTrees ? { trees: memory.versionTrees } : {}) }) };
      // What apply just published moves the rollouts on now (probes, the soak's start), not a pass later.
      await evaluateRollouts(specs, after, deps, signal);
      remaining = computePlan(desired, after, {
        now: deps.now(), lastSyncAt: memory.lastSyncAt, allowMassDelete: prepared.massDelete.allow,
        ...(prepared.massDelete.by ? { massDeleteApprovedBy: prepared.massDelete.by } : {}),
        ...(opts.sites ? { sites: opts.sites } : {}),
      });
    }
  }
  deps.log.debug('pass phases', { ...memory.phases, entries: plan.entries.length });
  const due = mirrorsDue(desired, memory);
  const statuses = mirrorStatuses({ desired, observed: after, remaining, results: applied?.results ?? [], lastSync: memory.lastSync, dryRun: !!opts.dryRun })
    .map((m) => (due.has(m.name) ? { ...m, nextSyncAt: due.get(m.name)!.toISOString() } : m));
  const mirrors = memory.rollouts.size ? withRollouts(specs, statuses, memory.rollouts) : statuses;
  const siteList = siteStatuses(desired, after, memory.lastSeen);
  const failures: PassFailure[] = [];
  for (const r of applied?.results ?? []) if (r.result !== 'succeeded') failures.push(PassFailure.ofEntry(r.entry, r.result, r.message));
  for (const s of after.sites.values()) if (!s.reachable) failures.push(PassFailure.ofSite(s));
  for (const [name, t] of observed.sources) if ('error' in t && !t.waiting) failures.push(PassFailure.ofSource(name, t.error));
  if (remaining.blockedDeletes) failures.push(PassFailure.ofBlockedDeletes(remaining.blockedDeletes));
  for (const e of remaining.errors ?? []) failures.push(PassFailure.ofPin(e));
  for (const c of remaining.conflicts) failures.push(PassFailure.ofConflict(c, conflictSentence(c.site, c.mirror, c.name, c.owner)));
  const only = opts.sites ? new Set(opts.sites) : null;
  const waiting = remaining.entries.some((e) => e.action === 'noop');
  const converged = !hasChanges(remaining) && !waiting && failures.length === 0 &&
    [...after.sites.values()].every((s) => s.reachable || (only !== null && !only.has(s.name)));
  return {
    converged,
    changes: applied?.changes ?? 0,
    mirrors,
    sites: siteList,
    // A soak that ends is a reason to pass again then: the next stage begins. A rollout that moved
    // after apply (a probe failed: roll back; a stage done: the next one) is a reason to pass now.
    nextDueAt: earliest([
      ...due.values(),
      ...[nextSoakEnd(memory.rollouts)].filter((d): d is Date => d !== null),
      ...([...memory.rollouts].some(([m, r]) => planned.get(m) !== rolloutStep(r)) ? [deps.now()] : []),
    ]),
    failures,
    plan,
  };
}
