/**
 * The rollouts of one pass: for every mirror with spec.rollout, what the origin and each site
 * serve (from observe: no Pulp call of its own), the record of the last pass, the probes its
 * current stage wants (run by the caller's runner, all mirrors' at once), then the engine
 * (rollout.ts). Out: the overrides the plan must honour, by `syncKey`, and each mirror's rollout.
 * Probes are HTTP against content apps, which reconcilers/ never does itself: the composition
 * root passes `probe` (pulp/content-probe.ts probeAll); without one a stage with probes waits.
 */
import type { LastSync, MirrorRollout, MirrorStatus } from '../core/status.js';
import type { SpecSet } from '../spec/types.js';
import { objectName, syncKey } from './names.js';
import type { ObservedState } from './plan-types.js';
import { rolloutLines } from './rollout-view.js';
import { treeTarget, type ServeOverrides, type ServeTarget } from './serve-target.js';
import { evaluateRollout, rolloutStages, type ProbeRequest, type ProbeResult, type RolloutInput, type RolloutOverride, type RolloutSiteView } from './rollout.js';

/** Runs one mirror's probes; results in any order, one per request. Never throws for a site's failure. */
export type ProbeRunner = (mirror: { name: string; basePath: string }, probes: readonly ProbeRequest[], opts: { signal: AbortSignal }) => Promise<ProbeResult[]>;

export interface RolloutPassOptions {
  /** Each mirror's record from the last pass (or restored from the status branch), by mirror name. */
  records: ReadonlyMap<string, MirrorRollout>;
  /** The last sync of each placement, by `syncKey`: when it completed is when the site published. */
  lastSync?: ReadonlyMap<string, LastSync>;
  now: Date;
  probe?: ProbeRunner;
  signal: AbortSignal;
}

export interface RolloutPassResult {
  /** By `syncKey(mirror, site)`; a placement without one serves the latest. */
  overrides: Map<string, RolloutOverride>;
  /** By mirror name: status and next record. */
  rollouts: Map<string, MirrorRollout>;
}

/**
 * The tree being rolled out: the source's, when it was read. Not what the origin serves: the origin
 * syncs the source in the same apply as its downstream sites, so a rollout that began only once
 * the origin served the tree would find the later stages already synced. Else the origin's.
 */
function latestOf(observed: ObservedState, mirror: string, origin: string | null): string | null {
  const source = observed.sources.get(mirror);
  return source && 'digest' in source ? source.digest : origin;
}

/** Evaluate every mirror's rollout for this pass. */
export async function passRollouts(specs: SpecSet, observed: ObservedState, opts: RolloutPassOptions): Promise<RolloutPassResult> {
  const labels = new Map(specs.sites.map((s) => [s.name, s.labels] as const));
  const inputs: RolloutInput[] = [];
  const basePaths = new Map<string, string>();
  const kept = new Map<string, MirrorRollout>();
  for (const m of specs.mirrors) {
    const record = opts.records.get(m.name);
    // A suspended mirror's rollout waits where it stands.
    if (m.rollout && m.suspend && record) kept.set(m.name, record);
    if (!m.rollout || m.suspend) continue;
    const dist = objectName(m.name);
    const sites = new Map<string, RolloutSiteView>();
    for (const site of m.sites) {
      const seen = observed.sites.get(site);
      // An unreachable site serves nothing that can be known: it has not published the tree.
      const serves = seen?.reachable ? seen.published.get(dist)?.digest ?? null : null;
      const last = opts.lastSync?.get(syncKey(m.name, site));
      sites.set(site, { serves, publishedAt: last?.result === 'completed' ? last.finishedAt : null });
    }
    basePaths.set(m.name, m.basePath);
    inputs.push({
      mirror: { name: m.name, origin: m.origin, sites: m.sites, rollout: m.rollout },
      labelsOf: (s) => labels.get(s),
      latest: latestOf(observed, m.name, sites.get(m.origin)?.serves ?? null),
      sites,
      record: opts.records.get(m.name) ?? null,
      now: opts.now.toISOString(),
    });
  }
  const first = inputs.map((input) => ({ input, out: evaluateRollout(input) }));
  // Every mirror's probes at once: the runner bounds how many are in flight.
  const results = await Promise.all(first.map(async ({ input, out }) => {
    if (!out.probes.length || !opts.probe) return out;
    opts.signal.throwIfAborted();
    const probes = await opts.probe({ name: input.mirror.name, basePath: basePaths.get(input.mirror.name) ?? input.mirror.name }, out.probes, { signal: opts.signal });
    return evaluateRollout({ ...input, probes });
  }));
  const overrides = new Map<string, RolloutOverride>();
  const rollouts = new Map<string, MirrorRollout>(kept);
  results.forEach((out, i) => {
    const name = inputs[i]?.mirror.name ?? '';
    if (out.status) rollouts.set(name, out.status);
    for (const [site, o] of out.overrides) overrides.set(syncKey(name, site), o);
  });
  return { overrides, rollouts };
}

/**
 * The mirrors' statuses with their rollouts: each carries its record, and at a halted rollout the
 * halted stage's sites are Blocked with the reason (the page, the JSON, the status commits and the
 * `change.blocked` event all read it there). Mirrors without spec.rollout are left as they are.
 */
export function withRollouts(specs: SpecSet, mirrors: readonly MirrorStatus[], rollouts: ReadonlyMap<string, MirrorRollout>): MirrorStatus[] {
  const labels = new Map(specs.sites.map((s) => [s.name, s.labels] as const));
  const byName = new Map(specs.mirrors.map((m) => [m.name, m] as const));
  return mirrors.map((status) => {
    const spec = byName.get(status.name);
    const r = rollouts.get(status.name);
    if (!spec?.rollout || !r) return status;
    let sites = status.sites;
    if (r.state === 'Blocked') {
      const halted = new Set(rolloutStages({ mirror: { ...spec, rollout: spec.rollout }, labelsOf: (s) => labels.get(s) })[r.stage]?.sites ?? []);
      sites = sites.map((c) => (halted.has(c.site) ? { ...c, state: 'Blocked' as const, message: r.reason } : c));
    }
    return { ...status, sites, rollout: r };
  });
}

/** The earliest soak end among `rollouts`, for the controller to wake then; null when none soaks. */
export function nextSoakEnd(rollouts: ReadonlyMap<string, MirrorRollout>): Date | null {
  let best: number | null = null;
  for (const r of rollouts.values()) {
    const t = r.state === 'Soaking' && r.soakEndsAt ? Date.parse(r.soakEndsAt) : NaN;
    if (Number.isFinite(t) && (best === null || t < best)) best = t;
  }
  return best === null ? null : new Date(best);
}

/** Each rollout's position for `plan`: a line per stage (rollout-view.ts), mirrors by name. */
export function rolloutPlanLines(specs: SpecSet, observed: ObservedState, rollouts: ReadonlyMap<string, MirrorRollout>, now: Date): { mirror: string; lines: string[] }[] {
  const labels = new Map(specs.sites.map((s) => [s.name, s.labels] as const));
  const out: { mirror: string; lines: string[] }[] = [];
  for (const m of [...specs.mirrors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const r = rollouts.get(m.name);
    if (!m.rollout || !r) continue;
    const stages = rolloutStages({ mirror: { ...m, rollout: m.rollout }, labelsOf: (s) => labels.get(s) });
    const dist = objectName(m.name);
    const serves = (site: string) => observed.sites.get(site)?.published.get(dist)?.digest ?? null;
    out.push({ mirror: m.name, lines: rolloutLines(r, stages, serves, now.toISOString()) });
  }
  return out;
}

/**
 * The rollouts' overrides as the pass's serve targets (serve-target.ts), under the caller's own
 * (`given`), which outrank them; spec pins outrank both (serve-target.ts `serveTargets`).
 */
export function rolloutServe(overrides: ReadonlyMap<string, RolloutOverride>, given?: ServeOverrides): Map<string, ServeTarget> {
  const out = new Map<string, ServeTarget>();
  for (const [key, o] of overrides) out.set(key, o.kind === 'tree' ? treeTarget(o.digest, o.why) : { kind: 'hold', why: o.why });
  for (const [key, t] of given ?? []) out.set(key, t);
  return out;
}

/** What changes what a rollout's sites must serve: its tree, stage, whether the stage began, its state. */
export function rolloutStep(r: MirrorRollout): string {
  return `${r.digest}:${r.stage}:${r.stageSince === null ? 'waiting' : 'begun'}:${r.state === 'Blocked' ? 'halted' : 'moving'}`;
}
