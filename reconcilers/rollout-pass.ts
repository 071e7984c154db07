/**
 * The rollouts of one pass: for every mirror with spec.rollout, what the origin and each site
 * serve (from observe: no Pulp call of its own), the record of the last pass, the probes its
 * current stage wants (run by the caller's runner, all mirrors' at once), then the engine
 * (rollout.ts). Out: the overrides the plan must honour, by `syncKey`, and each mirror's rollout.
 * Probes are HTTP against content apps, which reconcilers/ never does itself: the composition
 * root passes `probe` (pulp/content-probe.ts probeAll); without one a stage with probes waits.
 */
import type { LastSync, MirrorRollout } from '../core/status.js';
import type { SpecSet } from '../spec/types.js';
import { objectName, syncKey } from './names.js';
import type { ObservedState } from './plan-types.js';
import { evaluateRollout, type ProbeRequest, type ProbeResult, type RolloutInput, type RolloutOverride, type RolloutSiteView } from './rollout.js';

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

/** Evaluate every mirror's rollout for this pass. */
export async function passRollouts(specs: SpecSet, observed: ObservedState, opts: RolloutPassOptions): Promise<RolloutPassResult> {
  const labels = new Map(specs.sites.map((s) => [s.name, s.labels] as const));
  const inputs: RolloutInput[] = [];
  const basePaths = new Map<string, string>();
  for (const m of specs.mirrors) {
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
      latest: sites.get(m.origin)?.serves ?? null,
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
  const rollouts = new Map<string, MirrorRollout>();
  results.forEach((out, i) => {
    const name = inputs[i]?.mirror.name ?? '';
    if (out.status) rollouts.set(name, out.status);
    for (const [site, o] of out.overrides) overrides.set(syncKey(name, site), o);
  });
  return { overrides, rollouts };
}
