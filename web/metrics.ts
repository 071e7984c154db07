/**
 * The controller's Prometheus metrics, on a registry of its own (never prom-client's global one,
 * so that two controllers in one process — tests, benchmarks — never share series).
 *
 * Names follow the Prometheus conventions `promtool check metrics` enforces: a unit suffix in base
 * units (`_seconds`, `_bytes`), `_total` on counters and only on counters. Gauges that mirror the
 * status document are rebuilt from scratch from the latest document at scrape time, so a mirror or
 * site removed from the spec stops being exported instead of lingering with its last value.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LastSync, MirrorState, StatusDocument } from '../core/status.js';
import type { PassResult } from '../reconcilers/pass-types.js';

/** Every state, so that each mirror × site exports all six series (1 for its state, 0 otherwise). */
const STATES: readonly MirrorState[] = ['Synced', 'Progressing', 'OutOfSync', 'Failed', 'Blocked', 'Pending', 'Suspended'];

/**
 * Propagation spans minutes to hours (a tree published at the origin reaching a leaf site across a
 * WAN): buckets from 10 s to a day.
 */
export const PROPAGATION_BUCKETS_SECONDS: readonly number[] = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400];

/** A sync takes from under a second (nothing new) to hours (a first sync of a large tree). */
const SYNC_BUCKETS_SECONDS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];

/** A pass is mostly observation; many syncs make it long. */
const PASS_BUCKETS_SECONDS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export interface Metrics {
  /** The registry `/metrics` serves. */
  registry: Registry;
  /** One finished pass: `result` null (or `error` set) when the pass failed before producing one. */
  recordPass(result: PassResult | null, durationMs: number, error?: unknown): void;
  /** The current status document: state gauges, reachability, and each newly finished sync. */
  recordStatus(doc: StatusDocument): void;
  /** Time from the origin publishing a tree digest to `site` publishing the same digest. */
  recordPropagation(mirror: string, site: string, seconds: number): void;
}

export interface MetricsOptions {
  /** The controller's version, exported as `pulpdist_build_info{version}`. @default '0.0.0' */
  version?: string;
  /**
   * Syncs that finished before this time are not counted: they were already counted by an earlier
   * run of the controller, and a restart must not count them twice. @default the time of creation
   */
  countSyncsSince?: Date;
  /** Clock for `pulpdist_last_pass_timestamp_seconds`. @default () => new Date() */
  now?: () => Date;
  /** With a lease (controller/lease.ts): whether this replica is the active one, and its role changes so far. */
  replica?: () => { active: boolean; transitions: number };
  /** The event sinks' counters (events/ SinkStats), read at each scrape. @default none */
  eventSinks?: () => readonly EventSinkCounters[];
}

/** What /metrics shows of one event sink (the shape of events/ SinkStats). */
export interface EventSinkCounters {
  sink: string;
  kind: string;
  accepted: number;
  delivered: number;
  retries: number;
  queued: number;
  up: boolean;
  /** Per reason. */
  dropped: { readonly [reason in 'overflow' | 'failed' | 'rejected' | 'closed' | 'unconfigured']: number };
}

/** A registry with every pulpdist metric, ready for the status server. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const { version = '0.0.0', now = () => new Date(), countSyncsSince = now() } = options;
  const since = countSyncsSince.getTime();
  const registry = new Registry();
  const mk = { registers: [registry] };

  const buildInfo = new Gauge({ name: 'pulpdist_build_info', help: 'Always 1; the label carries the controller version.', labelNames: ['version'], ...mk });
  buildInfo.set({ version }, 1);
  if (options.eventSinks) registerEventSinkMetrics(options.eventSinks, mk);
  if (options.replica) registerReplicaMetrics(options.replica, mk);

  const mirrorState = new Gauge({
    name: 'pulpdist_mirror_state',
    help: 'State of a mirror at a site: 1 for its current state, 0 for the others.',
    labelNames: ['mirror', 'site', 'state'],
    collect: () => rebuild(),
    ...mk,
  });
  const publishedVersion = new Gauge({ name: 'pulpdist_mirror_published_version', help: 'Published repository version of a mirror at a site.', labelNames: ['mirror', 'site'], collect: () => rebuild(), ...mk });
  const publishedFiles = new Gauge({ name: 'pulpdist_mirror_files', help: 'Number of files in the tree a site publishes for a mirror.', labelNames: ['mirror', 'site'], collect: () => rebuild(), ...mk });
  const publishedBytes = new Gauge({ name: 'pulpdist_mirror_bytes', help: 'Size of the tree a site publishes for a mirror, in bytes.', labelNames: ['mirror', 'site'], collect: () => rebuild(), ...mk });
  const lastSuccess = new Gauge({
    name: 'pulpdist_last_sync_success_timestamp_seconds',
    help: 'Unix time when the last successful sync of a mirror at a site finished.',
    labelNames: ['mirror', 'site'],
    collect: () => rebuild(),
    ...mk,
  });
  const lastSyncBytes = new Gauge({
    name: 'pulpdist_last_sync_downloaded_bytes',
    help: 'Bytes the last finished sync of a mirror at a site downloaded.',
    labelNames: ['mirror', 'site'],
    collect: () => rebuild(),
    ...mk,
  });
  // Only while a sync runs (the live status): done / total is its progress.
  const progressDone = new Gauge({ name: 'pulpdist_sync_progress_done_bytes', help: 'Bytes a running sync of a mirror at a site has moved so far.', labelNames: ['mirror', 'site'], collect: () => rebuild(), ...mk });
  const progressTotal = new Gauge({
    name: 'pulpdist_sync_progress_total_bytes',
    help: 'Bytes a running sync of a mirror at a site moves in all: what the site lacks, by content address.',
    labelNames: ['mirror', 'site'],
    collect: () => rebuild(),
    ...mk,
  });
  const syncDuration = new Histogram({
    name: 'pulpdist_sync_duration_seconds',
    // Per site, not per mirror: a histogram per mirror × site would be thousands of series for
    // little gain; the per-mirror figure operators want is propagation, below.
    help: 'Duration of finished syncs at a site, by result.',
    labelNames: ['site', 'result'],
    buckets: SYNC_BUCKETS_SECONDS,
    ...mk,
  });
  const syncs = new Counter({ name: 'pulpdist_syncs_total', help: 'Finished syncs, by result.', labelNames: ['mirror', 'site', 'result'], ...mk });
  const downloadedBytes = new Counter({
    name: 'pulpdist_sync_downloaded_bytes_total',
    help: 'Bytes downloaded by finished syncs (only blobs the site did not hold).',
    labelNames: ['mirror', 'site'],
    ...mk,
  });
  const downloadedFiles = new Counter({
    name: 'pulpdist_sync_downloaded_files_total',
    help: 'Files downloaded by finished syncs (only blobs the site did not hold).',
    labelNames: ['mirror', 'site'],
    ...mk,
  });
  const siteReachable = new Gauge({ name: 'pulpdist_site_reachable', help: '1 when the last pass reached the site, else 0.', labelNames: ['site'], collect: () => rebuild(), ...mk });
  const siteDegraded = new Gauge({ name: 'pulpdist_site_degraded', help: '1 when the site answers but lists no online Pulp worker (its syncs are not started), else 0.', labelNames: ['site'], collect: () => rebuild(), ...mk });
  const siteStorage = new Gauge({
    name: 'pulpdist_site_storage_bytes',
    help: 'The site\'s status/ storage (kind: total, used, free); absent when Pulp gives no figure (object storage).',
    labelNames: ['site', 'kind'],
    collect: () => rebuild(),
    ...mk,
  });
  const siteDiskLow = new Gauge({
    name: 'pulpdist_site_disk_low',
    help: '1 when the site\'s free space is under its storage.freeSpaceWarning (default 10%), else 0; absent without a storage figure.',
    labelNames: ['site'],
    collect: () => rebuild(),
    ...mk,
  });
  const siteCleanupReclaimed = new Gauge({
    name: 'pulpdist_site_last_cleanup_reclaimed_bytes',
    help: 'Bytes the controller\'s last orphan cleanup at the site gave back (status/ storage.used before minus after).',
    labelNames: ['site'],
    collect: () => rebuild(),
    ...mk,
  });
  const siteCleanupTime = new Gauge({
    name: 'pulpdist_site_last_cleanup_timestamp_seconds',
    help: 'Unix time when the controller\'s last completed orphan cleanup at the site finished.',
    labelNames: ['site'],
    collect: () => rebuild(),
    ...mk,
  });
  const siteLastSeen = new Gauge({
    name: 'pulpdist_site_last_seen_timestamp_seconds',
    help: 'Unix time when the controller last reached the site.',
    labelNames: ['site'],
    collect: () => rebuild(),
    ...mk,
  });
  const specErrors = new Gauge({ name: 'pulpdist_spec_errors', help: 'Number of errors in the newest spec commit (0 when it is valid).', collect: () => rebuild(), ...mk });
  const passes = new Counter({ name: 'pulpdist_passes_total', help: 'Reconcile passes, by result.', labelNames: ['result'], ...mk });
  const passErrors = new Counter({ name: 'pulpdist_pass_errors_total', help: 'Reconcile passes that ended in an error.', ...mk });
  const passChanges = new Counter({ name: 'pulpdist_pass_changes_total', help: 'Changes made by passes (creates, updates, deletes, syncs).', ...mk });
  const passDuration = new Histogram({ name: 'pulpdist_pass_duration_seconds', help: 'Duration of reconcile passes.', buckets: PASS_BUCKETS_SECONDS, ...mk });
  const converged = new Gauge({ name: 'pulpdist_converged', help: '1 when the last pass left every site holding the desired tree of every mirror.', ...mk });
  const lastPassTime = new Gauge({ name: 'pulpdist_last_pass_timestamp_seconds', help: 'Unix time when the last pass finished.', ...mk });
  const propagation = new Histogram({
    name: 'pulpdist_propagation_seconds',
    help: 'Time from the origin publishing a new tree digest of a mirror to the site publishing the same digest.',
    labelNames: ['mirror', 'site'],
    buckets: [...PROPAGATION_BUCKETS_SECONDS],
    ...mk,
  });

  // Which finished sync each mirror × site last showed, so a sync is counted once however many
  // status documents repeat it.
  const seenSync = new Map<string, string>();
  // When each mirror × site last synced successfully: the document holds only the last sync, and
  // "time since the last success" must survive a failed sync after it (that is when it matters).
  const lastSuccessAt = new Map<string, number>();

  const countSync = (mirror: string, site: string, s: LastSync): void => {
    if (!s.finishedAt || !s.result || s.result === 'skipped') return;
    const end = Date.parse(s.finishedAt);
    if (!Number.isFinite(end)) return;
    const key = `${mirror}\u0000${site}`;
    if (s.result === 'completed' && end > (lastSuccessAt.get(key) ?? -Infinity)) lastSuccessAt.set(key, end);
    const id = `${s.task ?? ''}|${s.startedAt ?? ''}|${s.finishedAt}`;
    if (seenSync.get(key) === id) return;
    seenSync.set(key, id);
    if (end < since) return;
    const labels = { mirror, site };
    syncs.inc({ ...labels, result: s.result });
    const start = s.startedAt ? Date.parse(s.startedAt) : NaN;
    if (Number.isFinite(start) && end >= start) syncDuration.observe({ site, result: s.result }, (end - start) / 1000);
    if (s.downloadedBytes != null && s.downloadedBytes >= 0) downloadedBytes.inc(labels, s.downloadedBytes);
    if (s.downloadedFiles != null && s.downloadedFiles >= 0) downloadedFiles.inc(labels, s.downloadedFiles);
  };

  // The gauges that mirror the document are rebuilt at scrape time, from the latest document, and
  // only when it changed: recording a document (every few ms while a pass runs) stays O(cells)
  // cheap, and the cost of thousands of labelled series is paid once per scrape.
  let latest: StatusDocument | undefined;
  let built: StatusDocument | undefined;
  const rebuild = (): void => {
    const doc = latest;
    if (!doc || doc === built) return;
    built = doc;
    // Synchronous from reset to the last set: a scrape never sees a half-built set of series.
    for (const g of [mirrorState, publishedVersion, publishedFiles, publishedBytes, lastSuccess, lastSyncBytes, progressDone, progressTotal, siteReachable, siteLastSeen, siteDegraded, siteStorage, siteDiskLow, siteCleanupReclaimed, siteCleanupTime]) g.reset();
    specErrors.set(doc.controller.specErrors.length);
    for (const site of doc.sites) {
      siteReachable.set({ site: site.name }, site.reachable ? 1 : 0);
      siteDegraded.set({ site: site.name }, site.state === 'degraded' ? 1 : 0);
      if (site.storage) for (const kind of ['total', 'used', 'free'] as const) siteStorage.set({ site: site.name, kind }, site.storage[kind]);
      if (site.diskLow !== undefined) siteDiskLow.set({ site: site.name }, site.diskLow ? 1 : 0);
      const c = site.lastCleanup;
      if (c?.result === 'completed') {
        if (c.reclaimedBytes !== null) siteCleanupReclaimed.set({ site: site.name }, c.reclaimedBytes);
        const at = Date.parse(c.finishedAt);
        if (Number.isFinite(at)) siteCleanupTime.set({ site: site.name }, at / 1000);
      }
      const seen = site.lastSeen ? Date.parse(site.lastSeen) : NaN;
      if (Number.isFinite(seen)) siteLastSeen.set({ site: site.name }, seen / 1000);
    }
    for (const m of doc.mirrors) {
      for (const s of m.sites) {
        const labels = { mirror: m.name, site: s.site };
        for (const state of STATES) mirrorState.set({ ...labels, state }, s.state === state ? 1 : 0);
        if (s.version != null) publishedVersion.set(labels, s.version);
        if (s.files != null) publishedFiles.set(labels, s.files);
        if (s.bytes != null) publishedBytes.set(labels, s.bytes);
        // The document's own lastSuccessAt covers a success before a restart followed by failures.
        const fromDoc = s.lastSuccessAt ? Date.parse(s.lastSuccessAt) : NaN;
        const seen = lastSuccessAt.get(`${m.name}\u0000${s.site}`);
        const success = Number.isFinite(fromDoc) && (seen === undefined || fromDoc > seen) ? fromDoc : seen;
        if (success !== undefined) lastSuccess.set(labels, success / 1000);
        const last = s.lastSync;
        if (last?.downloadedBytes != null && last.finishedAt) lastSyncBytes.set(labels, last.downloadedBytes);
        if (s.progress) {
          progressDone.set(labels, s.progress.bytes.done);
          if (s.progress.bytes.total !== null) progressTotal.set(labels, s.progress.bytes.total);
        }
      }
    }
  };

  return {
    registry,
    recordPass(result, durationMs, error) {
      const failed = error !== undefined || result === null;
      passes.inc({ result: failed ? 'failed' : 'succeeded' });
      if (failed) passErrors.inc();
      passDuration.observe(Math.max(0, durationMs) / 1000);
      lastPassTime.set(now().getTime() / 1000);
      if (result) {
        passChanges.inc(result.changes);
        converged.set(result.converged ? 1 : 0);
      }
    },
    recordStatus(doc) {
      latest = doc;
      // Counters must see every sync, even one that a later document replaces before a scrape.
      for (const m of doc.mirrors) for (const s of m.sites) if (s.lastSync) countSync(m.name, s.site, s.lastSync);
    },
    recordPropagation(mirror, site, seconds) {
      if (!Number.isFinite(seconds) || seconds < 0) return;
      propagation.observe({ mirror, site }, seconds);
    },
  };
}

/**
 * The registry's text, as `registry.metrics()` gives it, but rendered one metric family at a time
 * with a turn of the event loop between them: at a thousand mirrors a scrape is tens of thousands
 * of lines, and the other requests must not wait for all of it at once.
 */
export async function metricsText(registry: Registry): Promise<string> {
  const parts: string[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    parts.push(await registry.getSingleMetricAsString(metric.name));
    await yieldToEventLoop();
  }
  return parts.join('\n\n') + '\n';
}

/**
 * A counter that follows a count kept elsewhere: each read moves it by the growth since the last
 * read; a count that starts again from 0 (a sink replaced by a new commit) is followed from there.
 * A series is exported from its first read, at 0 if need be: `increase(…[1h]) > 0` cannot see the
 * first drop of a series that appears with it.
 */
function counterFollower(): (c: Counter<string>, name: string, labels: Record<string, string>, value: number) => void {
  const seen = new Map<string, number>();
  return (c, name, labels, value) => {
    const k = `${name}\u0000${JSON.stringify(labels)}`;
    const before = seen.get(k) ?? 0;
    if (value > before || !seen.has(k)) c.inc(labels, Math.max(0, value - before));
    seen.set(k, value);
  };
}

/**
 * The event sinks' counters. They count in the sinks; a scrape reads them (whichever of these
 * series it collects first), and the counters here move by the difference since the last read
 * (a sink replaced by a new commit starts again from 0).
 */
function registerEventSinkMetrics(read: () => readonly EventSinkCounters[], mk: { registers: Registry[] }): void {
  const advance = counterFollower();
  const refresh = (): void => {
    queued.reset();
    up.reset();
    for (const s of read()) {
      const l = { sink: s.sink, kind: s.kind };
      queued.set(l, s.queued);
      up.set(l, s.up ? 1 : 0);
      advance(delivered, 'delivered', l, s.delivered);
      advance(retries, 'retries', l, s.retries);
      for (const [reason, n] of Object.entries(s.dropped)) advance(dropped, 'dropped', { ...l, reason }, n);
    }
  };
  const delivered = new Counter({ name: 'pulpdist_events_delivered_total', help: 'Events an event sink delivered.', labelNames: ['sink', 'kind'], collect: refresh, ...mk });
  const dropped = new Counter({
    name: 'pulpdist_events_dropped_total', help: 'Events an event sink dropped, by reason (overflow, failed, rejected, closed, unconfigured).', labelNames: ['sink', 'kind', 'reason'], collect: refresh, ...mk,
  });
  const retries = new Counter({ name: 'pulpdist_events_retries_total', help: 'Delivery attempts beyond the first (HTTP) or re-sends after a reconnect (AMQP).', labelNames: ['sink', 'kind'], collect: refresh, ...mk });
  const queued = new Gauge({ name: 'pulpdist_event_sink_queued', help: 'Events waiting in an event sink\'s queue.', labelNames: ['sink', 'kind'], collect: refresh, ...mk });
  const up = new Gauge({ name: 'pulpdist_event_sink_up', help: '1 when an event sink\'s receiver answers (HTTP) or its broker is connected (AMQP).', labelNames: ['sink', 'kind'], collect: refresh, ...mk });
}

/** The replica's role (1 active, 0 standby) and its role changes, read at each scrape. */
function registerReplicaMetrics(read: () => { active: boolean; transitions: number }, mk: { registers: Registry[] }): void {
  const advance = counterFollower();
  new Counter({
    name: 'pulpdist_lease_transitions_total', help: 'Times this replica took or lost the lease.', ...mk,
    collect() {
      advance(this, 'transitions', {}, read().transitions);
    },
  });
  new Gauge({
    name: 'pulpdist_replica_active', help: '1 when this replica holds the lease and reconciles, 0 when it is a standby.', ...mk,
    collect() {
      this.set(read().active ? 1 : 0);
    },
  });
}
