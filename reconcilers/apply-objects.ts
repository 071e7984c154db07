/**
 * Creates and updates, lane by lane: a lane is everything apply does for one mirror at one site.
 * A lane's objects go in CREATE_ORDER (a remote and a distribution refer to what comes before),
 * and its sync (apply-syncs.ts) starts as soon as they exist, not after every lane's: with a
 * thousand new mirrors, the syncs then overlap the creates.
 */
import type { Href, PulpClient } from '../pulp/types.js';
import { isPulpConflict } from '../pulp/errors.js';
import type { ApplyRun } from './apply-run.js';
import { isPendingRepositoryRef } from './distribution.js';
import { CREATE_ORDER, KIND_OPS, type KindOps } from './kinds.js';
import { CONTROLLER_LABEL, isManaged, MIRROR_LABEL, syncKey } from './names.js';
import type { CreateEntryOf, ObjectEntry, ObjectKind, Plan, TreeEntry, UpdateEntryOf } from './plan-types.js';

/** One mirror at one site, as apply carries it out. */
export interface Lane {
  readonly mirror: string;
  readonly site: string;
  /** Its creates and updates, in CREATE_ORDER. */
  readonly objects: ObjectEntry[];
  /** Its sync, publish or noop, if the plan has one. */
  readonly tree: TreeEntry | null;
  /** Hrefs of its objects: from the plan's updates, or created this pass. */
  readonly hrefs: Partial<Record<ObjectKind, Href>>;
  /** Why the lane cannot sync, once something of it failed. */
  broken: string | null;
  /** Settles when its objects are written (or failed). */
  ready: Promise<void>;
}

/** The lanes of a plan, by `syncKey(mirror, site)`, in plan order. Deletes belong to no lane. */
export function lanesOf(plan: Plan): Map<string, Lane> {
  const lanes = new Map<string, Lane & { objects: ObjectEntry[]; tree: TreeEntry | null }>();
  for (const e of plan.entries) {
    if (e.action === 'delete') continue;
    const k = syncKey(e.mirror, e.site);
    let lane = lanes.get(k);
    if (!lane) lanes.set(k, (lane = { mirror: e.mirror, site: e.site, objects: [], tree: null, hrefs: {}, broken: null, ready: Promise.resolve() }));
    if (e.action === 'create' || e.action === 'update') lane.objects.push(e);
    else lane.tree = e;
  }
  for (const lane of lanes.values()) lane.objects.sort((a, b) => CREATE_ORDER.indexOf(a.kind) - CREATE_ORDER.indexOf(b.kind));
  return lanes;
}

/**
 * Write a lane's objects one after the other; after a failure the rest are skipped and the lane
 * is broken (its sync is skipped with the reason). A lane's later objects go first in the site's
 * queue (priority), so lanes finish one by one instead of all creating their repositories, then
 * all their remotes, then all their distributions.
 */
export async function applyObjects(run: ApplyRun, lane: Lane, signal: AbortSignal): Promise<void> {
  for (const [step, e] of lane.objects.entries()) {
    if (e.action === 'update') lane.hrefs[e.kind] = e.op.href;
    if (lane.broken) {
      run.skip(e, lane.broken);
      continue;
    }
    const ok = await run.apiQueue(e.site).add(
      () => run.run(e, () => writeObject(run.client(e.site), lane, e, signal)),
      { signal, priority: step },
    );
    if (!ok) lane.broken = run.noWorkerAt(e.site) ?? `${e.action} of ${e.kind} ${e.name} at ${e.site} failed`;
  }
}

async function writeObject(client: PulpClient, lane: Lane, entry: ObjectEntry, signal: AbortSignal): Promise<void> {
  const e = withCreatedRepository(entry, lane);
  if (e.action === 'create') lane.hrefs[e.kind] = await createObject(client, e, signal);
  else await updateObject(client, e, signal);
}

/**
 * A distribution whose repository is created in this pass names it by a placeholder
 * (`pendingRepositoryRef`): point it at what the create returned.
 */
function withCreatedRepository(e: ObjectEntry, lane: Lane): ObjectEntry {
  if (e.kind !== 'distribution' || !isPendingRepositoryRef(e.op.body.repository)) return e;
  const repository = lane.hrefs.repository;
  if (!repository) throw new Error(`the repository ${e.name} does not exist at ${e.site}`);
  return e.action === 'create'
    ? { ...e, op: { body: { ...e.op.body, repository } } }
    : { ...e, op: { href: e.op.href, body: { ...e.op.body, repository } } };
}

async function createObject<K extends ObjectKind>(client: PulpClient, e: CreateEntryOf<K>, signal: AbortSignal): Promise<Href> {
  const ops: KindOps<K> = KIND_OPS[e.kind];
  try {
    return (await ops.create(client, e.op.body, { signal })).pulp_href;
  } catch (err) {
    // Names are deterministic: a conflict may be another pulpdist (a second apply, a CI job)
    // creating the same object since we observed. Re-read; take it if it is ours for this
    // mirror (and controller), else the conflict stands (apply-run.ts explainFailure says why).
    const owner = (e.op.body as { pulp_labels?: Record<string, string> }).pulp_labels?.[CONTROLLER_LABEL];
    const same = isPulpConflict(err) ? await createdMeanwhile(client, e, owner, signal) : null;
    if (!same) throw err;
    return same;
  }
}

async function updateObject<K extends ObjectKind>(client: PulpClient, e: UpdateEntryOf<K>, signal: AbortSignal): Promise<void> {
  const ops: KindOps<K> = KIND_OPS[e.kind];
  await ops.update(client, e.op.href, e.op.body, { signal });
}

/** The href of the object named like `e` at its site when it carries our labels (mirror, controller id) for e's mirror, else null. */
async function createdMeanwhile(client: PulpClient, e: { kind: ObjectKind; name: string; mirror: string }, controller: string | undefined, signal: AbortSignal): Promise<Href | null> {
  const found = await KIND_OPS[e.kind].list(client, { name: e.name }, { signal });
  const mine = found.find((o) => o.name === e.name && isManaged(o.pulp_labels) && o.pulp_labels[MIRROR_LABEL] === e.mirror && (!controller || o.pulp_labels[CONTROLLER_LABEL] === controller));
  return mine?.pulp_href ?? null;
}
