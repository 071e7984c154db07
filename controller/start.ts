/**
 * Wires one controller process: Git source → loop (spec loader, reconcile pass with one Pulp
 * client per site) → status writer, metrics and the status endpoint. `pulpdist run`, `pulpdist
 * demo` and the benchmark all start the controller through here.
 */
import { defaultControllerId } from '../core/controller-id.js';
import { BranchNotFoundError, UsageError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { createPulpClient } from '../pulp/client.js';
import type { PulpClient } from '../pulp/types.js';
import { mirrorHistory, type HistoryDocument } from '../reconcilers/history.js';
import { createPassMemory, reconcilePass } from '../reconcilers/pass.js';
import type { PassEvent } from '../reconcilers/pass-types.js';
import { createSourceReader } from '../sources/reader.js';
import { defaultStateDir, manifestCacheDir } from '../sources/state-dir.js';
import { loadSpecFiles } from '../spec/load.js';
import type { SiteSpec, SpecSet } from '../spec/types.js';
import { commitApprovesMassDelete, MASS_DELETE_TRAILER } from '../gitsource/approval.js';
import { originOf } from '../gitsource/identity.js';
import { openGitSource } from '../gitsource/source.js';
import type { GitSource } from '../gitsource/types.js';
import { CleanupSchedule } from './cleanup-schedule.js';
import { systemClock } from './clock.js';
import { ControllerEvents } from './events.js';
import { fenced, fencedWriter, GitLease, replicaIdentity } from './lease.js';
import { restoreHistory } from './history.js';
import { createController, type Controller } from './loop.js';
import { createMetrics } from '../web/metrics.js';
import { startStatusServer } from '../web/server.js';
import { createStatusWriter } from '../status/writer.js';
import { SyncHistory } from '../status/sync-history.js';
import { contentProber } from '../pulp/content-probe.js';
import { readLastStatus } from '../status/restore.js';
import { removedSiteLine, removedSites } from '../status/removed-sites.js';

export interface StartControllerOptions {
  /** A local path or an http(s) URL. */
  repo: string;
  /** @default 'main' */
  branch?: string;
  /** @default '' (the whole tree) */
  path?: string;
  /** Empty string: no status commits. @default 'pulpdist/status' */
  statusBranch?: string;
  /** `host:port` of the status endpoint; null for none. @default '127.0.0.1:8080' */
  listen?: string | null;
  /** @default 30_000 */
  intervalMs?: number;
  /** @default 3_600_000 */
  passDeadlineMs?: number;
  /** @default 60_000 */
  preemptAfterMs?: number;
  /** Time allowed for one request to a Pulp site. @default PULP_CLIENT_DEFAULTS.requestTimeoutMs */
  requestTimeoutMs?: number;
  /** @default defaultStateDir(env) */
  stateDir?: string;
  /** Enables `POST /hooks/git` with this secret. */
  webhookSecret?: string;
  /** Where site passwords and Git credentials are read. @default process.env */
  env?: NodeJS.ProcessEnv;
  version: string;
  log: Logger;
  /** Start the loop at once; false for `--once`, which calls `controller.runOnce()`. @default true */
  autoStart?: boolean;
  /**
   * Run as one of several replicas: only the holder of this lease in Git (lease.ts) reconciles and
   * writes; the others serve the last committed status and wait. @default none (a single replica)
   */
  lease?: { durationMs: number; branch?: string; renewEveryMs?: number };
  /**
   * This controller's id (`--controller-id`), labelled on every Pulp object it makes.
   * @default derived from repo, branch and path (core/controller-id.ts)
   */
  controllerId?: string;
}

export interface RunningController {
  controller: Controller;
  /** The status endpoint's base URL, or null without one. */
  url: string | null;
  /**
   * With a lease: resolves when this replica, once active, lost it. It must then stop and exit
   * (as controller-runtime does): the service manager starts it again, as a standby.
   */
  lost: Promise<string> | null;
  /** Stop the loop (waiting up to `graceMs` for a running pass), then the endpoint. */
  close(opts?: { graceMs?: number }): Promise<void>;
}

export { defaultStateDir };

/**
 * How long each check at start (the branch, the last status) may wait for the spec repository: an
 * unreachable server must not keep the status endpoint down for long; the loop retries.
 */
const START_GIT_TIMEOUT_MS = 30_000;

/**
 * A spec branch that does not exist is a mistyped `--branch`: a usage error before anything runs,
 * not a controller that writes an empty status over the one the running controller keeps. Any
 * other failure to read the repository is left to the loop, which retries and reports it.
 */
async function checkSpecBranch(source: GitSource, branch: string, signal: AbortSignal): Promise<void> {
  try {
    await source.refresh({ signal });
  } catch (err) {
    if (err instanceof BranchNotFoundError) throw new UsageError(`--branch ${branch}: ${err.message.replace(/ \(--branch\)$/, '')}`);
  }
}

/**
 * The default controller id: a URL as given; a local repository by its origin remote when it has
 * one (so that `pulpdist plan` in a clone of it derives the same id), else by its path.
 */
async function defaultIdOf(o: StartControllerOptions): Promise<string> {
  const local = !/^[a-z][a-z0-9+.-]*:\/\//i.test(o.repo) && !/^[^@/]+@[^:/]+:/.test(o.repo);
  const repo = local ? (await originOf(o.repo)) ?? o.repo : o.repo;
  return defaultControllerId({ repo, branch: o.branch ?? 'main', path: o.path ?? '' });
}

/** Open the repository, start the status endpoint and the loop. */
export async function startController(o: StartControllerOptions): Promise<RunningController> {
  const env = o.env ?? process.env;
  const stateDir = o.stateDir ?? defaultStateDir(env);
  const log = o.log;
  const statusBranch = o.statusBranch ?? 'pulpdist/status';
  const source = await openGitSource({ repo: o.repo, branch: o.branch, path: o.path, statusBranch: statusBranch || undefined, stateDir, env, log: log.child({ component: 'git' }) });
  await checkSpecBranch(source, o.branch ?? 'main', AbortSignal.timeout(START_GIT_TIMEOUT_MS));
  const controllerId = o.controllerId ?? await defaultIdOf(o);
  const clock = systemClock;
  const now = (): Date => new Date(clock.now());
  const startedAt = now();
  // With several replicas, only the lease holder writes: to Pulp (checked before every write) and
  // to the status branch (checked before every commit).
  const lease = o.lease && o.autoStart !== false
    ? new GitLease({ source, branch: o.lease.branch, identity: replicaIdentity(), durationMs: o.lease.durationMs, ...(o.lease.renewEveryMs ? { renewEveryMs: o.lease.renewEveryMs } : {}), clock: systemClock, log: log.child({ component: 'lease' }) })
    : null;
  const beforeWrite = lease ? () => void (lease.holds() || fenced()) : undefined;
  // The EventSinks of the commit in force get the loop's events (docs/events.md).
  const events = new ControllerEvents({ log: log.child({ component: 'events' }), now, env });
  const metrics = createMetrics({
    version: o.version, countSyncsSince: startedAt, now, eventSinks: () => events.stats(),
    ...(lease ? { replica: () => ({ active: lease.role === 'active', transitions: lease.transitions }) } : {}),
  });

  // One client per site, rebuilt only when that site's spec changes, so connection pools and
  // password reads are reused across passes.
  const clients = new Map<string, { key: string; client: PulpClient }>();
  const clientsFor = (sites: SiteSpec[]): Map<string, PulpClient> => {
    const out = new Map<string, PulpClient>();
    for (const site of sites) {
      const key = JSON.stringify({ ...site, position: undefined, labels: undefined });
      let entry = clients.get(site.name);
      if (!entry || entry.key !== key) {
        entry = { key, client: createPulpClient(site, { env, log: log.child({ site: site.name }), requestTimeoutMs: o.requestTimeoutMs, ...(beforeWrite ? { beforeWrite } : {}) }) };
        clients.set(site.name, entry);
      }
      out.set(site.name, entry.client);
    }
    for (const name of [...clients.keys()]) if (!out.has(name)) clients.delete(name);
    return out;
  };
  // Kept across passes: published-manifest ETags, last sync times for schedules; the source reader's ETags and hash pool.
  const memory = createPassMemory();
  const restored = statusBranch ? await restoreHistory(source, memory, { log, signal: AbortSignal.timeout(START_GIT_TIMEOUT_MS) }) : null;
  // Local trees are watched between passes: an unchanged tree costs a pass no rescan.
  const sources = createSourceReader({ cacheDir: manifestCacheDir(stateDir), stateDir, watchTrees: true });
  const cleanups = new CleanupSchedule({ log: log.child({ component: 'cleanup' }), now });
  // The specs of the latest pass, for the history endpoint: it reads the mirrors those name.
  let lastSpecs: SpecSet | null = null;
  // A mass delete is approved by a trailer on the commit in force (gitsource/approval.ts), read
  // from the local clone when the guard holds deletes.
  const reconcile = async (specs: SpecSet, { signal, commit, onEvent }: { signal: AbortSignal; commit: string; onEvent?: (e: PassEvent) => void }) => {
    lastSpecs = specs;
    const clients = clientsFor(specs.sites);
    const result = await reconcilePass(specs, { clients, log, now, memory, sources, probe: contentProber(specs.sites), ...(onEvent ? { onEvent } : {}) }, {
      signal,
      controllerId,
      approveMassDelete: async () =>
        (await commitApprovesMassDelete(source.repo, commit)) ? `the trailer ${MASS_DELETE_TRAILER} of commit ${commit.slice(0, 12)}` : null,
    });
    // After the pass, in the same cycle: never during this controller's syncs (cleanup-schedule.ts).
    await cleanups.afterPass(specs, result, clients, { signal });
    return result;
  };
  const history = async (name: string, signal: AbortSignal): Promise<HistoryDocument | null> => {
    const m = lastSpecs?.mirrors.find((x) => x.name === name);
    if (!m) return null;
    const siteClients = new Map<string, PulpClient>();
    for (const [site, entry] of clients) siteClients.set(site, entry.client);
    return mirrorHistory(m, siteClients, { signal });
  };

  const controller = createController(
    {
      source,
      loadSpecs: (files) => loadSpecFiles(files),
      reconcile,
      writer: statusBranch ? fencedWriter(createStatusWriter(source, { log, now }), lease, log) : null,
      metrics,
      log,
      clock,
      events,
      restored,
    },
    { intervalMs: o.intervalMs, passDeadlineMs: o.passDeadlineMs, preemptAfterMs: o.preemptAfterMs, version: o.version },
  );

  // The recent syncs of each placement, for the page's expanded rows (the document keeps the last one).
  const recentSyncs = new SyncHistory();
  controller.onCycle((doc) => recentSyncs.observe(doc));
  // A Site removed from the specs keeps serving what it had: said once, from the last status.
  if (restored) {
    const said = new Set<string>();
    controller.onCycle((doc) => {
      if (!doc.controller.lastPass || doc.controller.lastPass.result === 'running') return;
      for (const r of removedSites(doc.sites.map((s) => s.name), restored)) {
        if (said.has(r.site)) continue;
        said.add(r.site);
        log.warn(removedSiteLine(r), { site: r.site });
      }
    });
  }

  const listen = o.listen === undefined ? '127.0.0.1:8080' : o.listen;
  const server = listen
    ? await startStatusServer({
        listen,
        getStatus: controller.getStatus,
        recentSyncs: (mirror: string) => recentSyncs.of(mirror),
        now,
        isReady: lease ? () => lease.role === 'active' && controller.isReady() : controller.isReady,
        ...(lease ? { role: () => (lease.role === 'active' ? 'active' : `standby (the active replica is ${lease.holder ?? 'not known yet'})`) } : {}),
        metrics,
        history,
        log: log.child({ component: 'http' }),
        ...(o.webhookSecret ? { webhook: { secret: o.webhookSecret, onPush: () => controller.trigger('webhook') } } : {}),
      })
    : null;
  let lost: Promise<string> | null = null;
  let standbyTimer: ReturnType<typeof setInterval> | null = null;
  if (lease && statusBranch) {
    // A standby shows what the active replica commits: the status branch, read again every interval.
    standbyTimer = setInterval(() => {
      if (lease.role !== 'standby') return;
      void readLastStatus(source, { signal: AbortSignal.timeout(START_GIT_TIMEOUT_MS) }).then(
        (last) => last && controller.showKnown(last),
        (err: unknown) => log.debug('standby: could not read the status branch', { error: err }),
      );
    }, Math.max(o.intervalMs ?? 30_000, 5_000));
    standbyTimer.unref();
  }
  if (lease) {
    // The loop starts when this replica takes the lease; it stops for good when it loses it.
    lost = new Promise<string>((resolve) => {
      lease.onRole((role, _holder, why) => {
        if (role === 'active') void controller.start();
        // Not "held by <holder>": a renewal that timed out leaves this replica named there.
        else resolve(why);
      });
    });
    lease.start();
  } else if (o.autoStart !== false) {
    await controller.start();
  }
  log.info('controller started', { controllerId, repo: source.description, branch: o.branch ?? 'main', status: server?.url ?? null, stateDir, ...(lease ? { lease: lease.branch, leaseMs: lease.durationMs, leaseRenewMs: lease.renewEveryMs, role: lease.role } : {}) });
  return {
    controller,
    url: server?.url ?? null,
    lost,
    async close({ graceMs } = {}) {
      if (standbyTimer) clearInterval(standbyTimer);
      await controller.stop({ graceMs });
      await lease?.stop();
      await server?.close();
      sources.close?.();
    },
  };
}
