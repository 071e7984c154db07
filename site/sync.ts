/**
 * The sync task (pulp_file's `synchronize`): fetch the remote's PULP_MANIFEST, parse it, download
 * the blobs the site does not hold (in any repository) with the remote's concurrency under the
 * remote's bandwidth cap — small files in batch fetches when the upstream is an embedded site that
 * offers them (batch-protocol.ts), one GET per file otherwise — then commit artifacts, content
 * units, the new version and its publications in ONE journal commit. Anything that fails or is
 * canceled before that commit leaves no version, no publication and no partial blob. The blobs a
 * failed sync verified stay as artifacts, as Pulp's saved artifacts do; a canceled sync removes
 * those it had not yet made durable.
 */
import { rmSync } from 'node:fs';
import PQueue from 'p-queue';
import { ManifestParseError, parseManifest } from '../manifest/parse.js';
import type { ManifestEntry } from '../manifest/types.js';
import type { Logger } from '../core/logger.js';
import { appendBases, downloadAppended, type AppendBasis } from './append.js';
import { downloadBatch } from './batch-fetch.js';
import type { BlobStore } from './blobs.js';
import { majorGcCount } from './gc.js';
import { downloadArtifact, fetchManifest, fileUrls, makeClient, type DownloadDeps } from './download.js';
import { planDownloads } from './download-plan.js';
import { href, timestamp, type ArtifactRecord, type ContentRecord, type Op, type PublicationRecord, type VersionRecord } from './records.js';
import type { Store } from './store.js';
import { TaskFailure, type TaskContext } from './tasks.js';
import { TokenBucket } from './token-bucket.js';
import { latestVersion, newVersion, retainOps } from './versions.js';

/** Counters the site exposes at /pulpdist/metrics. */
export interface SiteMetrics {
  contentBytesServed: number;
  contentRequests: number;
  syncBytesDownloaded: number;
  syncFilesDownloaded: number;
}

export interface SyncDeps {
  /** For one summary line per sync (phase durations, files and bytes moved). */
  log?: Logger;
  store: Store;
  blobs: BlobStore;
  allowedImportPaths: string[];
  metrics: SiteMetrics;
  /** Batch fetches from an upstream that offers them (batch-protocol.ts). @default true */
  batch?: boolean;
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
    client: makeClient(remote, concurrency),
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
  const t0 = performance.now();
  const phases: Record<string, number> = {};
  // CPU beside wall time per phase (the whole process's, so other requests served meanwhile count
  // too): where a sync's cost goes, from its log line alone.
  const cpuAt0 = process.cpuUsage();
  let cpuAt = cpuAt0;
  const cpuMs = (since: NodeJS.CpuUsage) => {
    const d = process.cpuUsage(since);
    return Math.round((d.user + d.system) / 1000);
  };
  const mark = (name: `${string}Ms`, since: number) => {
    phases[name] = Math.round(performance.now() - since);
    phases[`${name.slice(0, -2)}CpuMs`] = cpuMs(cpuAt);
    cpuAt = process.cpuUsage();
    return performance.now();
  };
  const majors0 = majorGcCount();
  try {
    const manifest = await fetchManifest(remote.url, dd);
    const manifestBytes = manifest.bytes;
    let tick = mark('manifestMs', t0);
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
    const unrecorded: ManifestEntry[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      if (seen.has(e.sha256) || deps.store.index.artifactId(e.sha256)) continue;
      seen.add(e.sha256);
      unrecorded.push(e);
    }
    const sizeOf = deps.blobs.sizesFor(unrecorded.length, t.artifacts.size);
    const missing = unrecorded.filter((e) => sizeOf(e.sha256) !== e.size);
    // Files that grew in place since this repository's previous version (over http(s) only: a
    // file:// import reads locally, where a tail saves nothing worth the extra reads).
    const repo0 = t.repositories.get(req.repositoryId);
    let held = repo0 ? heldFiles(t, latestVersion(t, repo0)) : null;
    const bases = held && /^https?:/i.test(remote.url) && missing.length ? appendBases(held.files, missing, (s) => deps.blobs.sizeOf(s), (s) => deps.blobs.pathOf(s)) : new Map<string, AppendBasis>();
    let appended = 0;
    let appendFallbacks = 0;
    let appendHashStates = 0;
    let batchRequests = 0;
    let batched = 0;
    let batchFallbacks = 0;
    let batchOff = false;
    const verified: { path: string; sha256: string }[] = [];
    const gotFiles = (n: number) => {
      downloading.done += n;
      deps.metrics.syncFilesDownloaded += n;
    };
    deps.blobs.expectWrites(missing.reduce((sum, e) => sum + e.size, 0));
    const jobs = planDownloads(missing, deps.batch !== false && manifest.batch, (e) => bases.has(e.sha256));
    const urlOf = fileUrls(remote.url);
    tick = mark('planMs', tick);
    const failed = async (err: unknown): Promise<never> => {
      if (ctx.signal.aborted) {
        // Verified but not yet durable files of a canceled sync are removed.
        for (const v of verified) rmSync(v.path, { force: true });
      } else {
        // A failed sync keeps what it verified as artifacts, as Pulp keeps the artifacts it saved:
        // the next sync reuses them, and orphan cleanup removes those no content comes to use.
        await keepArtifacts(deps, verified, missing).catch(() => undefined);
      }
      throw err;
    };
    try {
      await downloadAll(jobs, concurrency, signal, local, async (job, add) => {
        if ('batch' in job) {
          if (batchOff) return job.batch.forEach((one) => add({ one }));
          const got = await downloadBatch(remote.url, job.batch, dd);
          batchRequests++;
          batched += got.verified.length;
          verified.push(...got.verified);
          gotFiles(got.verified.length);
          if (got.refused) batchOff = true;
          const first = got.left[0];
          // One line per batch: an upstream serving wrong bytes is worth a warning, not one per file.
          if (first) deps.log?.warn('batch fetch did not bring every file: fetching those by GET', { task: ctx.task.id, files: got.left.length, path: first.entry.relativePath, reason: first.why });
          batchFallbacks += got.left.length;
          for (const { entry } of got.left) add({ one: entry });
          return;
        }
        const e = job.one;
        const url = urlOf(e.relativePath);
        const expected = { sha256: e.sha256, size: e.size };
        const basis = bases.get(e.sha256);
        const tried = basis ? await downloadAppended(url, expected, basis, dd) : null;
        if (tried?.kind === 'appended') {
          appended++;
          if (tried.fromHashState) appendHashStates++;
          verified.push(tried);
        } else {
          if (tried) {
            appendFallbacks++;
            deps.log?.debug('append guess failed, downloading whole', { task: ctx.task.id, path: e.relativePath, reason: tried.reason });
          }
          verified.push(await downloadArtifact(url, expected, dd));
        }
        gotFiles(1);
      });
    } catch (err) {
      await failed(err);
    }
    tick = mark('downloadMs', tick);
    // The disk writes the blobs back while this thread builds and stores the publications'
    // manifests: only the commit must wait for both.
    const persisted = deps.blobs.persistAll(verified, 8, signal);
    persisted.catch(() => undefined);

    const repo = t.repositories.get(req.repositoryId);
    if (!repo) throw new TaskFailure('The repository was deleted during the sync.');
    held = heldFiles(t, latestVersion(t, repo), held);
    const before = held.files;
    // The tree the new version will hold, by path (units are keyed by relative_path).
    const after = req.mirror ? new Map<string, { sha256: string; size: number }>() : new Map<string, { sha256: string; size: number }>(before);
    for (const e of entries) after.set(e.relativePath, { sha256: e.sha256, size: e.size });
    const changed = after.size !== before.size || [...after].some(([p, v]) => before.get(p)?.sha256 !== v.sha256);

    // Manifest blobs are written before the commit so that the commit itself never waits: records
    // are then resolved against the tables as they are at that instant, and a concurrent sync's
    // units and artifacts are reused instead of duplicated.
    const manifests: { name: string; bytes: Buffer }[] = [];
    if (changed) {
      if (req.mirror) {
        const name = decodeURIComponent(new URL(remote.url).pathname.split('/').at(-1) || 'PULP_MANIFEST');
        manifests.push({ name, bytes: manifestBytes });
      }
      if (repo.autopublish && repo.manifest !== null) {
        // Newest units first, as Pulp writes it: this sync's entries, then the older ones kept.
        const fresh = new Set(entries.map((e) => e.relativePath));
        const order = [...entries].reverse().map((e) => e.relativePath).concat([...after.keys()].filter((p) => !fresh.has(p)));
        const bytes = Buffer.from(order.flatMap((p) => { const a = after.get(p); return a ? [`${p},${a.sha256},${a.size}\n`] : []; }).join(''), 'utf8');
        manifests.push({ name: repo.manifest, bytes });
      }
    }
    // Stored together: their fdatasyncs overlap.
    const pubs = await Promise.all(manifests.map(async (m) => ({ name: m.name, sha256: await deps.blobs.putBytes(m.bytes), size: m.bytes.length })));
    tick = mark('publishMs', tick);
    await persisted.catch(failed);
    await deps.blobs.syncDirs();
    tick = mark('persistMs', tick);
    downloading.state = 'completed';
    stage = associating;
    signal.throwIfAborted();
    const result = resolveAndCommit(deps, req, entries, after, pubs, changed, held);
    tick = mark('recordsMs', tick);
    associating.done = result.added;
    if (unassociating) unassociating.done = result.removed;
    for (const r of [associating, unassociating, bytesReport]) if (r) r.state = 'completed';
    ctx.task.created_resources = result.created;
    await result.committed;
    mark('commitMs', tick);
    deps.log?.info('sync', { task: ctx.task.id, files: downloading.done, bytes, appended, appendFallbacks, appendHashStates, batchRequests, batched, batchFallbacks, added: result.added, removed: result.removed, ...phases, ms: Math.round(performance.now() - t0), cpuMs: cpuMs(cpuAt0), majorGcs: majorGcCount() - majors0 });
  } catch (err) {
    if (!ctx.signal.aborted) {
      stage.state = 'failed';
      for (const r of later) if (r !== stage && r.state === 'running') r.state = 'canceled';
    }
    throw err;
  } finally {
    dd.client.destroy();
  }
}

/** An artifact record for a verified blob (the site computes sha256 only). */
function newArtifact(sha256: string, size: number): ArtifactRecord {
  return { id: crypto.randomUUID(), pulp_created: timestamp(), size, sha224: null, sha256, sha384: null, sha512: null };
}

/** Make verified blobs durable and record them as artifacts (with no content yet). */
async function keepArtifacts(deps: SyncDeps, verified: { path: string; sha256: string }[], entries: ManifestEntry[]): Promise<void> {
  await deps.blobs.persistAll(verified, 8);
  await deps.blobs.syncDirs();
  const sizes = new Map(entries.map((e) => [e.sha256, e.size]));
  const ops: Op[] = [];
  for (const { sha256 } of verified) {
    if (deps.store.index.artifactId(sha256)) continue;
    ops.push({ put: 'artifacts', v: newArtifact(sha256, sizes.get(sha256) ?? 0) });
  }
  if (ops.length) await deps.store.commit(ops);
}

/** A repository version's files by relative path: unit, digest and size. */
interface HeldFiles {
  version: string;
  files: Map<string, { unit: string; sha256: string; size: number }>;
}

/** The files `version` holds; `known` is returned as it is when it describes that same version. */
function heldFiles(t: SyncDeps['store']['t'], version: VersionRecord, known?: HeldFiles | null): HeldFiles {
  if (known?.version === version.id) return known;
  const files: HeldFiles['files'] = new Map();
  for (const id of version.content) {
    const c = t.content.get(id);
    if (c) files.set(c.relative_path, { unit: c.id, sha256: c.sha256, size: t.artifacts.get(c.artifact_id)?.size ?? 0 });
  }
  return { version: version.id, files };
}

/**
 * Synchronously (no await, so no other task interleaves): find or create artifact and content
 * records, make the version and its publications, prune old versions, and commit all of it.
 */
function resolveAndCommit(
  deps: SyncDeps,
  req: SyncRequest,
  entries: ManifestEntry[],
  after: Map<string, { sha256: string; size: number }>,
  pubs: { name: string; sha256: string; size: number }[],
  changed: boolean,
  known: HeldFiles,
): { created: string[]; added: number; removed: number; committed: Promise<unknown> } {
  const t = deps.store.t;
  const repo = t.repositories.get(req.repositoryId);
  if (!repo) throw new TaskFailure('The repository was deleted during the sync.');
  const ops: Op[] = [];
  // Artifacts made by this commit, then the site's index (a scan of every record per sync made a
  // thousand syncs quadratic).
  const artBySha = new Map<string, string>();
  // The units the repository holds, by path: a path that keeps its sha256 keeps its unit, so an
  // unchanged path never looks changed (and most paths of a sync resolve without a composite key).
  const held = heldFiles(t, latestVersion(t, repo), known).files;
  const unitFor = (relativePath: string, sha256: string, size: number): string => {
    const h = held.get(relativePath);
    if (h && h.sha256 === sha256) return h.unit;
    let artId = artBySha.get(sha256) ?? deps.store.index.artifactId(sha256);
    if (!artId) {
      const a = newArtifact(sha256, size);
      artId = a.id;
      artBySha.set(sha256, a.id);
      ops.push({ put: 'artifacts', v: a });
    }
    // Manifest paths are unique: a unit made here is not asked for again by path and digest.
    const id = deps.store.index.contentId(relativePath, sha256);
    if (id) return id;
    const c: ContentRecord = { id: crypto.randomUUID(), pulp_created: timestamp(), relative_path: relativePath, sha256, artifact_id: artId };
    ops.push({ put: 'content', v: c });
    return c.id;
  };
  // Every manifest entry gets its records (even with no new version, the blobs are now known).
  const byPath = new Map<string, string>();
  for (const e of entries) byPath.set(e.relativePath, unitFor(e.relativePath, e.sha256, e.size));
  const content = [...after].map(([p, v]) => byPath.get(p) ?? unitFor(p, v.sha256, v.size));
  const committed: Promise<unknown>[] = [];
  const nv = changed ? newVersion(t, repo, content) : null;
  if (!nv) {
    if (ops.length) committed.push(deps.store.commit(ops));
    return { created: [], added: 0, removed: 0, committed: Promise.all(committed) };
  }
  ops.push(...nv.ops);
  const created = [href.version(repo.id, nv.version.number)];
  for (const p of pubs) {
    const pub: PublicationRecord = { id: crypto.randomUUID(), pulp_created: timestamp(), repository_id: repo.id, number: nv.version.number, manifest: p.name, manifest_sha256: p.sha256, manifest_size: p.size };
    ops.push({ put: 'publications', v: pub });
    created.push(href.publication(pub.id));
  }
  committed.push(deps.store.commit(ops));
  // retainOps reads the tables, which already hold the new version (commit applies at once).
  const pruned = retainOps(t, nv.repo);
  if (pruned.length) committed.push(deps.store.commit(pruned));
  return { created, added: nv.version.added.length, removed: nv.version.removed.length, committed: Promise.all(committed) };
}

/**
 * Run `fn` over items with at most `n` at once; `fn` may add items (a batch's files left to GET).
 * The first failure aborts the rest and is thrown.
 */
async function downloadAll<T>(items: T[], n: number, outer: AbortSignal, stop: AbortController, fn: (item: T, add: (item: T) => void) => Promise<void>): Promise<void> {
  const queue = new PQueue({ concurrency: n });
  let failure: unknown = null;
  const add = (item: T): void => {
    void queue.add(async () => {
      if (failure !== null) return;
      try {
        outer.throwIfAborted();
        await fn(item, add);
      } catch (err) {
        if (failure === null) {
          failure = err;
          stop.abort(err);
          queue.clear();
        }
      }
    });
  };
  items.forEach(add);
  await queue.onIdle();
  if (failure !== null) throw failure;
  if (outer.aborted) throw outer.reason;
}
