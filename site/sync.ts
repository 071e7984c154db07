/**
 * The sync task (pulp_file's `synchronize`): fetch the remote's PULP_MANIFEST, parse it, download
 * the blobs the site does not hold (in any repository) with the remote's concurrency under the
 * remote's bandwidth cap, then commit artifacts, content units, the new version and its
 * publications in ONE journal commit. Anything that fails or is canceled before that commit leaves
 * no version, no publication and no partial blob (verified blobs already renamed into place stay,
 * as in Pulp, and are reused by the next sync).
 */
import { ManifestParseError, parseManifest } from '../manifest/parse.js';
import type { ManifestEntry } from '../manifest/types.js';
import type { BlobStore } from './blobs.js';
import { downloadArtifact, fetchManifest, fileUrl, makeAgent, type DownloadDeps } from './download.js';
import { href, timestamp, type ArtifactRecord, type ContentRecord, type Op } from './records.js';
import type { Store } from './store.js';
import { TaskFailure, type TaskContext } from './tasks.js';
import { TokenBucket } from './token-bucket.js';
import { latestVersion, manifestOf, newVersion, publish, retainOps } from './versions.js';

/** Counters the site exposes at /pulpdist/metrics. */
export interface SiteMetrics {
  contentBytesServed: number;
  contentRequests: number;
  syncBytesDownloaded: number;
  syncFilesDownloaded: number;
}

export interface SyncDeps {
  store: Store;
  blobs: BlobStore;
  allowedImportPaths: string[];
  metrics: SiteMetrics;
}

export interface SyncRequest {
  repositoryId: string;
  remoteId: string;
  mirror: boolean;
}

/** Run one sync inside a task. */
export async function runSync(deps: SyncDeps, req: SyncRequest, ctx: TaskContext): Promise<void> {
  const t = deps.store.t;
  const remote = t.remotes.get(req.remoteId);
  if (!t.repositories.get(req.repositoryId)) throw new TaskFailure('The repository was deleted before the sync ran.');
  if (!remote) throw new TaskFailure('The remote was deleted before the sync ran.');
  ctx.task.created_resources = [null];
  // `local` stops the other downloads when one fails; ctx.signal is the user's cancel.
  const local = new AbortController();
  const signal = AbortSignal.any([ctx.signal, local.signal]);
  const concurrency = remote.download_concurrency ?? 10;
  const dd: DownloadDeps = {
    blobs: deps.blobs,
    remote,
    allowedImportPaths: deps.allowedImportPaths,
    bucket: remote.pulpdist_bandwidth_limit ? new TokenBucket(remote.pulpdist_bandwidth_limit) : null,
    agent: makeAgent(remote.url, remote, concurrency),
    signal,
    onBytes: (n) => {
      bytes += n;
      deps.metrics.syncBytesDownloaded += n;
      if (bytesReport) bytesReport.done = bytes;
    },
  };
  let bytes = 0;
  let bytesReport: ReturnType<TaskContext['report']> | null = null;
  const meta = ctx.report('sync.downloading.metadata', 'Downloading Metadata', { done: 0 });
  let stage = meta;
  // pulp_file's pipeline starts these stages together; a failure cancels the ones not finished.
  const downloading = ctx.report('sync.downloading.artifacts', 'Downloading Artifacts');
  const associating = ctx.report('associating.content', 'Associating Content');
  const later: ReturnType<TaskContext['report']>[] = [downloading, associating];
  try {
    const manifestBytes = await fetchManifest(remote.url, dd);
    meta.done = 1;
    meta.state = 'completed';
    const parsing = ctx.report('sync.parsing.metadata', 'Parsing Metadata Lines', { total: 0 });
    stage = parsing;
    let entries: ManifestEntry[];
    try {
      entries = parseManifest(manifestBytes);
    } catch (err) {
      if (err instanceof ManifestParseError) throw new TaskFailure(`Error: Parsing of the manifest file failed on line:${err.line}. ${err.reason}`);
      throw err;
    }
    parsing.total = parsing.done = entries.length;
    parsing.state = 'completed';
    const unassociating = req.mirror ? ctx.report('unassociating.content', 'Un-Associating Content') : null;
    if (unassociating) later.push(unassociating);
    bytesReport = ctx.report('pulpdist.downloading.bytes', 'Downloading Bytes', { done: bytes, suffix: 'bytes' });
    later.push(bytesReport);
    stage = downloading;

    // Which blobs are missing: not recorded and not on disk (a blob renamed in just before a crash
    // has no record yet but is verified, so it is adopted instead of fetched again).
    const known = new Map<string, ArtifactRecord>();
    for (const a of t.artifacts.values()) known.set(a.sha256, a);
    const sizes = new Map<string, number>();
    for (const e of entries) if (!known.has(e.sha256)) sizes.set(e.sha256, e.size);
    const missing: ManifestEntry[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      if (known.has(e.sha256) || seen.has(e.sha256)) continue;
      seen.add(e.sha256);
      if ((await deps.blobs.sizeOf(e.sha256)) !== e.size) missing.push(e);
    }
    await downloadAll(missing, concurrency, signal, local, async (e) => {
      await downloadArtifact(fileUrl(remote.url, e.relativePath), { sha256: e.sha256, size: e.size }, dd);
      downloading.done++;
      deps.metrics.syncFilesDownloaded++;
    });
    downloading.state = 'completed';
    stage = associating;
    signal.throwIfAborted();
    await deps.blobs.syncDirs();
    signal.throwIfAborted();

    // From here to the commit nothing awaits except the manifest blob: records are resolved against
    // the tables as they are now, so a concurrent sync's records are reused, not duplicated.
    const repo = t.repositories.get(req.repositoryId);
    if (!repo) throw new TaskFailure('The repository was deleted during the sync.');
    const ops: Op[] = [];
    const artBySha = new Map<string, string>();
    for (const a of t.artifacts.values()) artBySha.set(a.sha256, a.id);
    const newSizes = new Map<string, number>();
    const contentByKey = new Map<string, string>();
    for (const c of t.content.values()) contentByKey.set(`${c.relative_path}\0${c.sha256}`, c.id);
    const newContent = new Map<string, ContentRecord>();
    const manifestIds: string[] = [];
    for (const e of entries) {
      let artId = artBySha.get(e.sha256);
      if (!artId) {
        const a: ArtifactRecord = { id: crypto.randomUUID(), pulp_created: timestamp(), size: e.size, sha224: null, sha256: e.sha256, sha384: null, sha512: null };
        artId = a.id;
        artBySha.set(e.sha256, a.id);
        newSizes.set(a.id, a.size);
        ops.push({ put: 'artifacts', v: a });
      }
      const key = `${e.relativePath}\0${e.sha256}`;
      let cid = contentByKey.get(key);
      if (!cid) {
        const c: ContentRecord = { id: crypto.randomUUID(), pulp_created: timestamp(), relative_path: e.relativePath, sha256: e.sha256, artifact_id: artId };
        cid = c.id;
        contentByKey.set(key, c.id);
        newContent.set(c.id, c);
        ops.push({ put: 'content', v: c });
      }
      manifestIds.push(cid);
    }
    const prev = latestVersion(t, repo);
    let content: string[];
    if (req.mirror) content = manifestIds;
    else {
      // Additive: a path in the manifest replaces the unit at that path; other units stay.
      const paths = new Set(entries.map((e) => e.relativePath));
      content = prev.content.filter((id) => !paths.has(t.content.get(id)?.relative_path ?? '')).concat(manifestIds);
    }
    const nv = newVersion(t, repo, content);
    if (!nv) {
      associating.state = 'completed';
      if (unassociating) unassociating.state = 'completed';
      bytesReport.state = 'completed';
      if (ops.length) await deps.store.commit(ops);
      ctx.task.created_resources = [];
      return;
    }
    associating.done = nv.version.added.length;
    if (unassociating) unassociating.done = nv.version.removed.length;
    ops.push(...nv.ops);
    const created: string[] = [href.version(repo.id, nv.version.number)];
    const extra = { content: newContent, sizes: newSizes };
    if (req.mirror) {
      const name = decodeURIComponent(new URL(remote.url).pathname.split('/').at(-1) || 'PULP_MANIFEST');
      const p = await publish(t, deps.blobs, nv.version, name, manifestBytes);
      ops.push(...p.ops);
      created.push(href.publication(p.publication.id));
    }
    if (repo.autopublish) {
      const p = await publish(t, deps.blobs, nv.version, repo.manifest, manifestOf(t, nv.version.content, extra));
      ops.push(...p.ops);
      created.push(href.publication(p.publication.id));
    }
    await deps.blobs.syncDirs();
    signal.throwIfAborted();
    const committed = deps.store.commit(ops);
    // retainOps reads the tables, which already hold the new version (commit applies at once).
    const pruned = retainOps(t, nv.repo);
    const all = [committed];
    if (pruned.length) all.push(deps.store.commit(pruned));
    for (const r of [associating, unassociating, bytesReport]) if (r) r.state = 'completed';
    ctx.task.created_resources = created;
    await Promise.all(all);
  } catch (err) {
    if (!ctx.signal.aborted) {
      stage.state = 'failed';
      for (const r of later) if (r !== stage && r.state === 'running') r.state = 'canceled';
    }
    throw err;
  } finally {
    dd.agent.destroy();
  }
}

/** Run `fn` over items with at most `n` at once; the first failure aborts the rest and is thrown. */
async function downloadAll<T>(items: T[], n: number, outer: AbortSignal, stop: AbortController, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (failure === null && next < items.length) {
      outer.throwIfAborted();
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        if (failure === null) {
          failure = err;
          stop.abort(err);
        }
      }
    }
  });
  await Promise.allSettled(workers);
  if (failure !== null) throw failure;
  if (outer.aborted) throw outer.reason;
}
