/**
 * Apply: the only writes, through the clients it is given. Order:
 *  1. sources: for a tree on disk whose origin will read it, write its PULP_MANIFEST;
 *  2. per (mirror, site): creates and updates, repository → remote → distribution;
 *  3. syncs (and publishes) in topological order, each as soon as its own (mirror, site) objects
 *     exist: a site syncs a mirror only after the site it pulls from has published the tree it
 *     needs; downstream of a failure is skipped with that reason. Per-site queues
 *     (`concurrentSyncs`) under one global queue; every task awaited;
 *  4. deletes (refused as a whole when the mass-delete guard tripped), distribution first so that
 *     nothing keeps serving a repository on its way out.
 * One site's failure stops that mirror at that site and what depends on it, never the others.
 */
import PQueue from 'p-queue';
import { AbortFan } from '../core/abort-fan.js';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/redact.js';
import type { LastSync } from '../core/status.js';
import type { Href, PulpClient } from '../pulp/types.js';
import type { EntryOutcome, EntryResult, PassEvent, SourceReader } from './pass-types.js';
import type { DesiredState, ObjectKind, Plan, PlanEntry, SourceTree } from './plan-types.js';
import { isManaged, MIRROR_LABEL, syncKey } from './names.js';
import { awaitRunningSyncs, labelTree, runSync } from './apply-sync.js';
import { isPendingRepositoryRef } from './distribution.js';

export { progressOf } from './apply-sync.js';

export interface ApplyDeps {
  clients: ReadonlyMap<string, PulpClient>;
  log: Logger;
  now: () => Date;
  sources: SourceReader;
  onEvent?: (event: PassEvent) => void;
}

export interface ApplyOptions {
  signal: AbortSignal;
  desired: DesiredState;
  /** The source trees the plan was computed from (their manifests are what gets written). */
  sourceTrees: ReadonlyMap<string, SourceTree>;
  /** Syncs running at once over all sites. @default 16 */
  maxConcurrentSyncs?: number;
  /** Creates, updates and deletes in flight per site. @default 8 */
  apiConcurrency?: number;
}

export interface ApplyResult {
  results: EntryResult[];
  /** Changes made: succeeded creates, updates, deletes, syncs and publishes. */
  changes: number;
  /** One human line per failed or skipped entry. */
  failures: string[];
  /** The sync record of each (mirror, site) synced, by `syncKey`. */
  syncs: Map<string, LastSync>;
}

/** A human message for a failure, with what to do where we know it. */
export function explainFailure(entry: PlanEntry, err: unknown): string {
  const msg = redact(messageOf(err));
  if (/allowed import path/i.test(msg)) {
    return `${msg}: start the ${entry.site} site with an allowed import path covering the source tree (\`pulpdist site --allowed-import-path DIR\`, or ALLOWED_IMPORT_PATHS in Pulp's settings)`;
  }
  if (entry.action === 'create' && /must be unique|already exists/i.test(msg)) {
    return `${msg}: an object named ${entry.name} exists at ${entry.site} without the label managed_by=pulpdist; pulpdist never adopts or changes it: rename it, or label it if it really is pulpdist's`;
  }
  return msg;
}

function isConflict(err: unknown): boolean {
  return /must be unique|already exists/i.test(messageOf(err));
}

/** The object named like `e` at its site when it carries our labels for e's mirror, else null. */
async function createdMeanwhile(client: PulpClient, e: PlanEntry, signal: AbortSignal): Promise<{ pulp_href: Href } | null> {
  const filter = { name: e.name };
  const found =
    e.kind === 'repository' ? await client.listRepositories(filter, { signal })
    : e.kind === 'remote' ? await client.listRemotes(filter, { signal })
    : await client.listDistributions(filter, { signal });
  const mine = found.find((o) => o.name === e.name && isManaged(o.pulp_labels) && o.pulp_labels[MIRROR_LABEL] === e.mirror);
  return mine ?? null;
}

function isNotFound(err: unknown): boolean {
  return (err as { status?: unknown } | null)?.status === 404;
}

const OBJECT_ORDER: ObjectKind[] = ['repository', 'remote', 'distribution'];

/** Carry out a plan. Never throws for a Pulp failure: each entry gets its result. */
export async function apply(plan: Plan, deps: ApplyDeps, opts: ApplyOptions): Promise<ApplyResult> {
  const { signal } = opts;
  // Each lane, sync and delete works under a child of the pass signal (abort-fan.ts says why):
  // their queued jobs, requests and polls then never listen on the pass signal itself.
  const fan = new AbortFan(signal);
  const results: EntryResult[] = [];
  const syncs = new Map<string, LastSync>();
  const global = new PQueue({ concurrency: opts.maxConcurrentSyncs ?? 16 });
  const syncQueues = new Map<string, PQueue>();
  const apiQueues = new Map<string, PQueue>();
  const queueOf = (m: Map<string, PQueue>, site: string, n: number) => {
    let q = m.get(site);
    if (!q) m.set(site, (q = new PQueue({ concurrency: n })));
    return q;
  };
  const apiQueue = (site: string) => queueOf(apiQueues, site, opts.apiConcurrency ?? 8);
  const syncQueue = (site: string) => queueOf(syncQueues, site, opts.desired.sites.get(site)?.limits.concurrentSyncs ?? 2);

  const record = (entry: PlanEntry, result: EntryOutcome, started: number, message?: string) => {
    const durationMs = deps.now().getTime() - started;
    results.push({ entry, result, durationMs, ...(message ? { message } : {}) });
    deps.onEvent?.({ type: 'action-end', site: entry.site, mirror: entry.mirror, kind: entry.kind, action: entry.action, result, durationMs, ...(message ? { message } : {}) });
    const fields = { site: entry.site, mirror: entry.mirror, kind: entry.kind, action: entry.action };
    if (result === 'succeeded') deps.log.info(`${entry.action} ${entry.kind} ${entry.name}`, { ...fields, durationMs });
    else deps.log.warn(`${entry.action} ${entry.kind} ${entry.name} ${result}`, { ...fields, reason: message });
  };
  const skip = (entry: PlanEntry, why: string) => record(entry, 'skipped', deps.now().getTime(), why);
  const run = async (entry: PlanEntry, fn: () => Promise<void>): Promise<boolean> => {
    const started = deps.now().getTime();
    deps.onEvent?.({ type: 'action-start', site: entry.site, mirror: entry.mirror, kind: entry.kind, action: entry.action, reason: entry.reason });
    try {
      signal.throwIfAborted();
      await fn();
      record(entry, 'succeeded', started);
      return true;
    } catch (err) {
      if (signal.aborted) {
        record(entry, 'failed', started, `aborted: ${messageOf(signal.reason)}`);
        return false;
      }
      record(entry, 'failed', started, explainFailure(entry, err));
      return false;
    }
  };
  const clientOf = (site: string): PulpClient => {
    const c = deps.clients.get(site);
    if (!c) throw new Error(`no client for site ${site}`);
    return c;
  };

  // Lanes: everything for one mirror at one site.
  const lanes = new Map<string, PlanEntry[]>();
  for (const e of plan.entries) {
    if (e.action === 'noop' || e.action === 'delete') continue;
    const k = syncKey(e.mirror, e.site);
    lanes.set(k, [...(lanes.get(k) ?? []), e]);
  }
  const laneBroken = new Map<string, string>(); // why a lane cannot sync
  const hrefs = new Map<string, Href>(); // `${kind}:${mirror}@${site}` → href known or created

  // 1. Sources that an origin will read this pass.
  for (const m of opts.desired.mirrors.values()) {
    if (m.suspend || m.source.kind !== 'path') continue;
    const k = syncKey(m.name, m.origin);
    const lane = lanes.get(k);
    if (!lane?.some((e) => e.kind === 'sync' || (e.kind === 'remote' && e.action !== 'delete'))) continue;
    const tree = opts.sourceTrees.get(m.name);
    if (!tree || 'error' in tree) continue; // the plan held no origin sync for it
    try {
      await deps.sources.prepare(m.source, tree, { signal });
    } catch (err) {
      if (signal.aborted) throw err;
      laneBroken.set(k, `cannot write ${m.source.path}/PULP_MANIFEST: ${redact(messageOf(err))}`);
    }
  }

  // 2. Creates and updates, lane by lane. A lane's sync (3.) starts as soon as its own objects
  // exist, not after every lane's: with a thousand new mirrors, the syncs then overlap the creates.
  // A lane's later objects go first in the site's queue (priority), so lanes finish one by one
  // instead of all creating their repositories, then all their remotes, then all their distributions.
  const laneReady = new Map<string, Promise<void>>();
  for (const [k, lane] of lanes) {
    laneReady.set(k, fan.run(async (signal) => {
      const objects = lane.filter((e) => e.kind !== 'sync' && e.kind !== 'publication')
        .sort((a, b) => OBJECT_ORDER.indexOf(a.kind as ObjectKind) - OBJECT_ORDER.indexOf(b.kind as ObjectKind));
      for (const [step, e] of objects.entries()) {
        if (e.op?.href) hrefs.set(`${e.kind}:${k}`, e.op.href);
        const broken = laneBroken.get(k);
        if (broken) {
          skip(e, broken);
          continue;
        }
        const ok = await apiQueue(e.site).add(
          () => run(e, async () => {
            const client = clientOf(e.site);
            const body = { ...(e.op?.body ?? {}) };
            if (e.kind === 'distribution' && isPendingRepositoryRef(body.repository)) {
              // The repository is created in this pass: point at what the create returned.
              const repo = hrefs.get(`repository:${k}`);
              if (!repo) throw new Error(`the repository ${e.name} does not exist at ${e.site}`);
              body.repository = repo;
            }
            if (e.action === 'create') {
              let created: { pulp_href: Href };
              try {
                created =
                  e.kind === 'repository' ? await client.createRepository(body as never, { signal })
                  : e.kind === 'remote' ? await client.createRemote(body as never, { signal })
                  : await client.createDistribution(body as never, { signal });
              } catch (err) {
                // Names are deterministic: a conflict may be another pulpdist (a second apply, a
                // CI job) creating the same object since we observed. Re-read; take it if it is
                // ours for this mirror, else the conflict stands (explainFailure says why).
                const same = isConflict(err) ? await createdMeanwhile(client, e, signal) : null;
                if (!same) throw err;
                created = same;
              }
              hrefs.set(`${e.kind}:${k}`, created.pulp_href);
            } else {
              const href = e.op!.href!;
              if (e.kind === 'repository') await client.updateRepository(href, body, { signal });
              else if (e.kind === 'remote') await client.updateRemote(href, body, { signal });
              else await client.updateDistribution(href, body, { signal });
            }
          }),
          { signal, priority: step },
        );
        if (!ok) laneBroken.set(k, `${e.action} of ${e.kind} ${e.name} at ${e.site} failed`);
      }
    }));
  }

  // 3. Syncs and publishes, each after its feeder.
  const done = new Map<string, Promise<string | null>>(); // → null when the tree is published, else why not
  const syncEntries = plan.entries.filter((e) => e.kind === 'sync' || e.kind === 'publication');
  const resolvers = new Map<string, (why: string | null) => void>();
  for (const e of syncEntries) {
    const k = syncKey(e.mirror, e.site);
    done.set(k, new Promise((r) => resolvers.set(k, r)));
  }
  // The first sync of this pass at a site waits for the syncs a killed predecessor left running
  // there on the repositories this pass syncs (awaitRunningSyncs says why).
  const predecessors = new Map<string, Promise<void>>();
  const predecessorsDone = (site: string): Promise<void> => {
    let p = predecessors.get(site);
    if (!p) {
      const repos = syncEntries.flatMap((x) => (x.site === site && x.action === 'sync' && x.op?.href ? [x.op.href] : []));
      predecessors.set(site, (p = awaitRunningSyncs(clientOf(site), repos, deps.log, signal)));
    }
    return p;
  };

  await Promise.all([
    ...laneReady.values(),
    ...syncEntries.map(async (e) => {
      const k = syncKey(e.mirror, e.site);
      const resolve = resolvers.get(k)!;
      try {
        resolve(await syncOne(e, k));
      } catch (err) {
        resolve(`its ${e.action} at ${e.site} did not run`);
        throw err;
      }
    }),
  ]);

  async function syncOne(e: PlanEntry, k: string): Promise<string | null> {
    if (e.action === 'noop') {
      return e.reason;
    }
    const feeder = e.op?.feeder;
    if (feeder) {
      const upstream = done.get(syncKey(e.mirror, feeder));
      const why = upstream ? await upstream : null;
      if (why !== null) {
        skip(e, `upstream ${feeder} has not published the tree: ${why}`);
        return `its upstream ${feeder} has not published the tree`;
      }
    }
    await laneReady.get(k);
    const broken = laneBroken.get(k);
    if (broken) {
      skip(e, broken);
      return broken;
    }
    const repo = hrefs.get(`repository:${k}`) ?? e.op?.href;
    const remote = hrefs.get(`remote:${k}`) ?? e.op?.remote;
    if (e.action === 'sync') await predecessorsDone(e.site);
    // The child signal only from here: a leaf's syncs wait most of the pass for their feeders,
    // and a child each all that time would be 50,000 idle controllers at 5,000 × 10.
    const ok = await fan.run((signal) => syncQueue(e.site).add(
      () => global.add(() => run(e, async () => {
        const client = clientOf(e.site);
        if (!repo) throw new Error(`the repository ${e.name} does not exist at ${e.site}`);
        let version: Href | null = null;
        if (e.action === 'publish') {
          await client.createPublication({ repository: repo }, { signal });
        } else {
          if (!remote) throw new Error(`the remote ${e.name} does not exist at ${e.site}`);
          version = await runSync(client, e, repo, remote, deps, signal, syncs);
        }
        const dist = hrefs.get(`distribution:${k}`) ?? e.op?.distribution;
        if (dist && e.op?.basePath) await labelTree(client, e, { repository: repo, distribution: dist, basePath: e.op.basePath, version }, deps.log, signal);
      }), { signal }),
      { signal },
    ));
    return ok ? null : `its ${e.action} at ${e.site} failed`;
  }

  // 4. Deletes.
  const deletes = plan.entries.filter((e) => e.action === 'delete');
  const DELETE_ORDER: ObjectKind[] = ['distribution', 'remote', 'repository'];
  deletes.sort((a, b) => DELETE_ORDER.indexOf(a.kind as ObjectKind) - DELETE_ORDER.indexOf(b.kind as ObjectKind));
  if (plan.blockedDeletes) {
    for (const e of deletes) skip(e, plan.blockedDeletes);
  } else {
    for (const kind of DELETE_ORDER) {
      await Promise.all(
        deletes.filter((e) => e.kind === kind).map((e) => fan.run((signal) =>
          apiQueue(e.site).add(
            () => run(e, async () => {
              const client = clientOf(e.site);
              const href = e.op!.href!;
              try {
                if (kind === 'distribution') await client.deleteDistribution(href, { signal });
                else if (kind === 'remote') await client.deleteRemote(href, { signal });
                else await client.deleteRepository(href, { signal });
              } catch (err) {
                if (!isNotFound(err)) throw err; // already gone counts as deleted
              }
            }),
            { signal },
          )),
        ),
      );
    }
  }

  const failures = results
    .filter((r) => r.result !== 'succeeded')
    .map((r) => {
      const e = r.entry;
      const what = e.kind === 'sync' || e.kind === 'publication' ? e.action : `${e.action} ${e.kind}`;
      return `${e.site}: ${what} ${e.name} ${r.result}: ${r.message ?? ''}`.trim();
    });
  const changes = results.filter((r) => r.result === 'succeeded').length;
  return { results, changes, failures, syncs };
}
