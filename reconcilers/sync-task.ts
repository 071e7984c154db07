/**
 * One sync task as apply runs it (apply-syncs.ts decides when): the task, its progress events and
 * its record for status, then the tree label on the distribution (names.ts TREE_LABEL) that spares
 * the next observe a manifest read.
 */
import type { Logger } from '../core/logger.js';
import type { LastSync } from '../core/status.js';
import { PulpNoWorkerError, PulpTaskError, PulpTaskTimeoutError } from '../pulp/errors.js';
import type { Href, PulpClient, Task } from '../pulp/types.js';
import type { PassEvent, SyncFigures } from './pass-types.js';
import type { PlanEntry, Transfer } from './plan-types.js';
import { formatTreeLabel, hrefId, managedLabels, syncKey, TREE_LABEL, versionNumberOf } from './names.js';
import { treeOfText } from './tree.js';

export interface SyncDeps {
  now: () => Date;
  onEvent?: (event: PassEvent) => void;
}

/** The task name of a file sync, in real Pulp and in `pulpdist site`. */
const SYNC_TASK = 'pulp_file.app.tasks.synchronizing.synchronize';

/**
 * Wait for the syncs already waiting or running at a site on any of `repos`. They are a
 * predecessor's: a controller killed mid-pass leaves its syncs running. Starting ours beside them
 * would download the same blobs twice and exceed the site's concurrentSyncs. Their outcome does
 * not matter (our sync follows); a failure to list them is left to our syncs to report.
 */
export async function awaitRunningSyncs(client: PulpClient, repos: Href[], log: Logger, signal: AbortSignal): Promise<void> {
  if (repos.length === 0) return;
  let running: Task[];
  try {
    running = await client.listTasks({ name: SYNC_TASK, state__in: 'waiting,running' }, { signal });
  } catch (err) {
    if (signal.aborted) throw err;
    return;
  }
  const ours = running.filter((t) => t.name === SYNC_TASK && (t.reserved_resources_record ?? []).some((r) => repos.some((h) => r.endsWith(h))));
  for (const t of ours) {
    log.info('waiting for a sync left running by an earlier pass', { site: client.site, task: t.pulp_href });
    try {
      await client.awaitTask(t.pulp_href, { signal });
    } catch (err) {
      if (signal.aborted) throw err;
    }
  }
}

/**
 * A running sync is polled at least this often (the client's cap, 2 s, is for every other task):
 * the end of a sync is what people wait for (its `sync.succeeded` event, issue 19's target of
 * ≤ 1 s from the end of a sync to the event at a consumer; the next site's sync; the live view's
 * bytes and ETA). A long sync was seen up to 2 s late (bench:event-delay --leaf-bandwidth 64KiB/s,
 * ~9 s syncs: p99 1.8 s). The cost is two task GETs a second per running sync, and the syncs at
 * a site are few at once (`limits.concurrentSyncs`).
 */
const SYNC_POLL_MAX_MS = 500;

/**
 * Sync a mirror's repository at one site from its remote with `mirror: true`, recording the outcome
 * in `syncs` (by syncKey). Returns the new version's href, or null when the sync made none.
 */
export async function syncPlacement(
  client: PulpClient,
  e: Pick<PlanEntry, 'mirror' | 'site' | 'estimate'>,
  at: { repository: Href; remote: Href },
  deps: SyncDeps,
  syncs: Map<string, LastSync>,
  signal: AbortSignal,
): Promise<Href | null> {
  const { repository: repo, remote } = at;
  const k = syncKey(e.mirror, e.site);
  const startedAt = deps.now().toISOString();
  // The last polled state (a holder: the callback assigns it, which narrowing cannot see).
  const last: { task: Task | null } = { task: null };
  const report = (t: Task) => deps.onEvent?.({ type: 'sync-progress', site: e.site, mirror: e.mirror, task: t.pulp_href, ...syncFigures(t, e.estimate) });
  const progress = (t: Task) => {
    last.task = t;
    report(t);
  };
  try {
    const task = await client.syncRepository(repo, { remote, mirror: true }, { signal, onProgress: progress, pollMaxMs: SYNC_POLL_MAX_MS });
    // The last poll may predate the end: report the final figures once more.
    report(task);
    const r = syncFigures(task, e.estimate);
    syncs.set(k, {
      startedAt: task.started_at ?? startedAt, finishedAt: task.finished_at ?? deps.now().toISOString(), result: 'completed',
      downloadedBytes: r.doneBytes, downloadedFiles: r.doneFiles, task: task.pulp_href,
    });
    // The new version, when the sync made one (identified by href prefix, never by position).
    return task.created_resources.find((h): h is string => typeof h === 'string' && h.startsWith(`${repo}versions/`)) ?? null;
  } catch (err) {
    const t = last.task;
    const r = t ? syncFigures(t, e.estimate) : null;
    const failed = err instanceof PulpTaskError || err instanceof PulpTaskTimeoutError || err instanceof PulpNoWorkerError ? err : null;
    const canceled = failed instanceof PulpNoWorkerError || (failed !== null && 'state' in failed && failed.state === 'canceled');
    syncs.set(k, {
      startedAt, finishedAt: deps.now().toISOString(), result: canceled ? 'canceled' : 'failed',
      downloadedBytes: r?.doneBytes ?? null, downloadedFiles: r?.doneFiles ?? null,
      task: failed?.task ?? t?.pulp_href ?? null,
    });
    throw err;
  }
}

/**
 * Note on the distribution which tree the repository's latest version publishes (TREE_LABEL), so
 * that the next observe, even in a fresh process, needs no manifest read. Best effort: without
 * the note the next observe reads the manifest.
 */
export async function labelTree(
  client: PulpClient,
  e: Pick<PlanEntry, 'mirror' | 'site' | 'name'>,
  at: { repository: Href; distribution: Href; basePath: string; version: Href | null },
  log: Logger,
  signal: AbortSignal,
  controller?: string,
): Promise<void> {
  const { repository: repoHref, distribution: distHref, basePath } = at;
  try {
    const [latest, published] = await Promise.all([
      at.version ?? client.listRepositories({ name: e.name }, { signal }).then((rs) => rs.find((r) => r.pulp_href === repoHref)?.latest_version_href ?? null),
      client.getPublishedManifest(basePath, { signal }),
    ]);
    const version = versionNumberOf(latest);
    if (version === null || !published || published === 'not-modified') return;
    const tree = treeOfText(published.text);
    const label = formatTreeLabel({ repository: hrefId(repoHref), version, digest: tree.digest, files: tree.files, bytes: tree.bytes });
    await client.updateDistribution(distHref, { pulp_labels: { ...managedLabels(e.mirror, controller), [TREE_LABEL]: label } }, { signal });
  } catch (err) {
    if (signal.aborted) throw err;
    log.debug('could not label the published tree', { site: e.site, mirror: e.mirror, error: err });
  }
}

/**
 * A sync's files and bytes, done and total, from its task and the plan's content-addressed
 * estimate. Real Pulp reports downloaded files only (`sync.downloading.artifacts`, total null);
 * `pulpdist site` also reports bytes (`pulpdist.downloading.bytes`). Totals are the estimate
 * (what the site lacks), raised to what was done where the estimate fell short; done bytes are the
 * site's report where it sends one, else the estimate's share of the files done (all of it once the
 * task completed: a tree of unchanged blobs still moves its manifest).
 */
export function syncFigures(task: Task, estimate?: Transfer): SyncFigures {
  const reports = Array.isArray(task.progress_reports) ? task.progress_reports : [];
  const artifacts = reports.find((p) => p.code === 'sync.downloading.artifacts');
  const reported = reports.find((p) => p.code === 'pulpdist.downloading.bytes');
  const doneFiles = artifacts?.done ?? 0;
  const totalFiles = estimate ? Math.max(estimate.files, doneFiles) : artifacts?.total ?? null;
  let doneBytes: number;
  if (reported) doneBytes = reported.done ?? 0;
  else if (!estimate) doneBytes = 0;
  else if (task.state === 'completed') doneBytes = estimate.bytes;
  else doneBytes = estimate.files > 0 ? Math.round(estimate.bytes * Math.min(1, doneFiles / estimate.files)) : 0;
  const totalBytes = estimate ? Math.max(estimate.bytes, doneBytes) : null;
  return { doneFiles, totalFiles, doneBytes, totalBytes };
}
