/**
 * Apply: the only writes, through the clients it is given. Order:
 *  1. sources: for a tree on disk whose origin will read it, write its PULP_MANIFEST;
 *  2. per (mirror, site), a lane: creates and updates, repository → remote → distribution
 *     (apply-objects.ts);
 *  3. syncs (and publishes) in topological order, each as soon as its own lane's objects exist
 *     (apply-syncs.ts);
 *  4. deletes, distribution first (apply-deletes.ts).
 * One site's failure stops that mirror at that site and what depends on it, never the others.
 */
import { messageOf } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { applyDeletes } from './apply-deletes.js';
import { applyObjects, lanesOf, type Lane } from './apply-objects.js';
import { ApplyRun } from './apply-run.js';
import { applySyncs } from './apply-syncs.js';
import { syncKey } from './names.js';
import type { ApplyDeps, ApplyOptions, ApplyResult } from './pass-types.js';
import type { Plan } from './plan-types.js';

/** Carry out a plan. Never throws for a Pulp failure: each entry gets its result. */
export async function apply(plan: Plan, deps: ApplyDeps, opts: ApplyOptions): Promise<ApplyResult> {
  const run = new ApplyRun(deps, opts);
  const lanes = lanesOf(plan);
  await prepareSources(run, lanes);
  for (const lane of lanes.values()) lane.ready = run.fan.run((signal) => applyObjects(run, lane, signal));
  await Promise.all([...[...lanes.values()].map((l) => l.ready), ...applySyncs(run, lanes)]);
  await applyDeletes(run, plan);
  const changes = run.results.filter((r) => r.result === 'succeeded').length;
  return { results: run.results, changes, syncs: run.syncs };
}

/**
 * Write the PULP_MANIFEST of each tree on disk that an origin reads this pass (a sync there, or a
 * remote to write). A source that cannot be written breaks its lane: nothing of it runs.
 */
async function prepareSources(run: ApplyRun, lanes: ReadonlyMap<string, Lane>): Promise<void> {
  const { signal } = run;
  for (const m of run.opts.desired.mirrors.values()) {
    if (m.suspend || m.source.kind !== 'path') continue;
    const lane = lanes.get(syncKey(m.name, m.origin));
    if (!lane || !(lane.tree?.action === 'sync' || lane.objects.some((e) => e.kind === 'remote'))) continue;
    const tree = run.opts.sourceTrees.get(m.name);
    if (!tree || 'error' in tree) continue; // the plan held no origin sync for it
    try {
      await run.deps.sources.prepare(m.source, tree, { signal, mirror: m.name });
    } catch (err) {
      if (signal.aborted) throw err;
      const where = m.source.readOnly ? `the source view of ${m.source.path}` : `${m.source.path}/PULP_MANIFEST`;
      lane.broken = `cannot write ${where}: ${redact(messageOf(err))}`;
    }
  }
}
