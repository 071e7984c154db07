/**
 * Syncs and publishes in topological order: a site syncs a mirror only after the site it pulls
 * from (its feeder) has published the tree it needs, and only once its own objects exist
 * (apply-objects.ts). Downstream of a failure is skipped with that reason. Per-site queues
 * (`concurrentSyncs`) under one global queue; every task awaited.
 */
import type { Href } from '../pulp/types.js';
import type { ApplyRun } from './apply-run.js';
import type { Lane } from './apply-objects.js';
import { syncKey } from './names.js';
import type { PublishEntry, SyncEntry, TreeEntry } from './plan-types.js';
import { awaitRunningSyncs, labelTree, syncPlacement } from './sync-task.js';

/** Why a lane's tree is not published after this pass, or null when it is. */
type Published = string | null;

/**
 * Start the sync (or publish) of every lane that has one; the promises settle when each is done.
 * A lane's noop resolves at once with its reason, so that what depends on it is skipped.
 */
export function applySyncs(run: ApplyRun, lanes: ReadonlyMap<string, Lane>): Promise<void>[] {
  const jobs: { lane: Lane; tree: TreeEntry; settle: (why: Published) => void; published: Promise<Published> }[] = [];
  const published = new Map<string, Promise<Published>>();
  for (const [k, lane] of lanes) {
    if (!lane.tree) continue;
    let settle: (why: Published) => void = () => undefined;
    const done = new Promise<Published>((resolve) => (settle = resolve));
    published.set(k, done);
    jobs.push({ lane, tree: lane.tree, settle, published: done });
  }
  const predecessors = new Predecessors(run, jobs.map((j) => j.tree));
  const upstream = (mirror: string, feeder: string): Promise<Published> => published.get(syncKey(mirror, feeder)) ?? Promise.resolve(null);
  return jobs.map(async ({ lane, tree, settle }) => {
    try {
      settle(await moveTree(run, lane, tree, upstream, predecessors));
    } catch (err) {
      settle(`its ${tree.action} at ${tree.site} did not run`);
      throw err;
    }
  });
}

async function moveTree(
  run: ApplyRun,
  lane: Lane,
  e: TreeEntry,
  upstream: (mirror: string, feeder: string) => Promise<Published>,
  predecessors: Predecessors,
): Promise<Published> {
  if (e.action === 'noop') return e.reason;
  const feeder = e.action === 'sync' ? e.op.feeder : null;
  if (feeder) {
    const why = await upstream(e.mirror, feeder);
    if (why !== null) {
      run.skip(e, `upstream ${feeder} has not published the tree: ${why}`);
      return `its upstream ${feeder} has not published the tree`;
    }
  }
  await lane.ready;
  if (lane.broken) {
    run.skip(e, lane.broken);
    return lane.broken;
  }
  if (e.action === 'sync') await predecessors.done(e.site);
  // The child signal only from here: a leaf's syncs wait most of the pass for their feeders,
  // and a child each all that time would be 50,000 idle controllers at 5,000 × 10.
  const ok = await run.fan.run((signal) => run.syncQueue(e.site).add(
    () => run.global.add(() => run.run(e, () => (e.action === 'sync' ? sync(run, lane, e, signal) : publish(run, lane, e, signal))), { signal }),
    { signal },
  ));
  return ok ? null : `its ${e.action} at ${e.site} failed`;
}

async function sync(run: ApplyRun, lane: Lane, e: SyncEntry, signal: AbortSignal): Promise<void> {
  const client = run.client(e.site);
  const repository = lane.hrefs.repository ?? e.op.repository;
  if (!repository) throw new Error(`the repository ${e.name} does not exist at ${e.site}`);
  const remote = lane.hrefs.remote ?? e.op.remote;
  if (!remote) throw new Error(`the remote ${e.name} does not exist at ${e.site}`);
  const version = await syncPlacement(client, e, { repository, remote }, run.deps, run.syncs, signal);
  const distribution = lane.hrefs.distribution ?? e.op.distribution;
  if (distribution) await labelTree(client, e, { repository, distribution, basePath: e.op.basePath, version }, run.deps.log, signal, run.opts.desired.controller);
}

async function publish(run: ApplyRun, lane: Lane, e: PublishEntry, signal: AbortSignal): Promise<void> {
  const client = run.client(e.site);
  const repository = lane.hrefs.repository ?? e.op.repository;
  await client.createPublication({ repository }, { signal });
  const distribution = lane.hrefs.distribution ?? e.op.distribution;
  await labelTree(client, e, { repository, distribution, basePath: e.op.basePath, version: null }, run.deps.log, signal, run.opts.desired.controller);
}

/**
 * The first sync of this pass at a site waits for the syncs a killed predecessor left running
 * there on the repositories this pass syncs (sync-task.ts awaitRunningSyncs says why).
 */
class Predecessors {
  readonly #waits = new Map<string, Promise<void>>();

  constructor(private readonly run: ApplyRun, private readonly entries: readonly TreeEntry[]) {}

  done(site: string): Promise<void> {
    let p = this.#waits.get(site);
    if (!p) {
      const repos: Href[] = this.entries.flatMap((x) => (x.site === site && x.action === 'sync' && x.op.repository ? [x.op.repository] : []));
      this.#waits.set(site, (p = awaitRunningSyncs(this.run.client(site), repos, this.run.deps.log, this.run.signal)));
    }
    return p;
  }
}
