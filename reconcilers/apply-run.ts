/**
 * The bookkeeping of one apply: a result, an event and a log line per entry; the per-site queues
 * (API calls, syncs) under one global sync queue; the clients. apply-objects.ts, apply-syncs.ts and
 * apply-deletes.ts do their part of the plan through one ApplyRun.
 */
import PQueue from 'p-queue';
import { AbortFan } from '../core/abort-fan.js';
import { messageOf } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type { LastSync } from '../core/status.js';
import { formatDuration } from '../core/units.js';
import { isPulpConflict, PulpNoWorkerError } from '../pulp/errors.js';
import type { PulpClient } from '../pulp/types.js';
import type { ApplyDeps, ApplyOptions, EntryOutcome, EntryResult } from './pass-types.js';
import { entryDoing, type PlanEntry } from './plan-types.js';
import { NO_WORKER, needsWorker } from './site-health.js';

/** A human message for a failure, with what to do where we know it. */
export function explainFailure(entry: PlanEntry, err: unknown): string {
  const msg = redact(messageOf(err));
  if (/allowed import path/i.test(msg)) {
    return `${msg}: start the ${entry.site} site with an allowed import path covering the source tree (\`pulpdist site --allowed-import-path DIR\`, or ALLOWED_IMPORT_PATHS in Pulp's settings)`;
  }
  if (entry.action === 'create' && isPulpConflict(err)) {
    return `${msg}: an object named ${entry.name} exists at ${entry.site} without the label managed_by=pulpdist; pulpdist never adopts or changes it: rename it, or label it if it really is pulpdist's`;
  }
  return msg;
}

export class ApplyRun {
  readonly results: EntryResult[] = [];
  /** The sync record of each (mirror, site) synced, by `syncKey`. */
  readonly syncs = new Map<string, LastSync>();
  /**
   * Lanes, syncs and deletes each work under a child of the pass signal (core/abort-fan.ts says
   * why): their queued jobs, requests and polls then never listen on the pass signal itself.
   */
  readonly fan: AbortFan;
  /** Syncs running at once over all sites. */
  readonly global: PQueue;
  readonly #syncQueues = new Map<string, PQueue>();
  readonly #apiQueues = new Map<string, PQueue>();
  /**
   * Sites found without a worker during this apply (a task there waited, status/ listed none), with
   * the reason: their other worker tasks are skipped at once instead of each waiting to find out.
   */
  readonly #noWorker = new Map<string, string>();

  constructor(readonly deps: ApplyDeps, readonly opts: ApplyOptions) {
    this.fan = new AbortFan(opts.signal);
    this.global = new PQueue({ concurrency: opts.maxConcurrentSyncs ?? 16 });
  }

  /** The pass signal. */
  get signal(): AbortSignal {
    return this.opts.signal;
  }

  /** Creates, updates and deletes in flight at a site. */
  apiQueue(site: string): PQueue {
    return queueOf(this.#apiQueues, site, this.opts.apiConcurrency ?? 8);
  }

  /** Syncs at a site: its `limits.concurrentSyncs`. */
  syncQueue(site: string): PQueue {
    return queueOf(this.#syncQueues, site, this.opts.desired.sites.get(site)?.limits.concurrentSyncs ?? 2);
  }

  client(site: string): PulpClient {
    const c = this.deps.clients.get(site);
    if (!c) throw new Error(`no client for site ${site}`);
    return c;
  }

  record(entry: PlanEntry, result: EntryOutcome, started: number, message?: string): void {
    const { deps } = this;
    const durationMs = deps.now().getTime() - started;
    this.results.push({ entry, result, durationMs, ...(message ? { message } : {}) });
    deps.onEvent?.({ type: 'action-end', site: entry.site, mirror: entry.mirror, kind: entry.kind, action: entry.action, result, durationMs, ...(message ? { message } : {}) });
    const fields = { site: entry.site, mirror: entry.mirror, kind: entry.kind, action: entry.action };
    if (result === 'succeeded') deps.log.info(`${entryDoing(entry)} ${entry.name}`, { ...fields, durationMs });
    // At debug: a failure is logged once where it is handled (the controller's failure log, apply's
    // summary), not here every pass it repeats.
    else deps.log.debug(`${entryDoing(entry)} ${entry.name} ${result}`, { ...fields, reason: message });
  }

  /** Why worker tasks at `site` are skipped, once one there found no online worker; else undefined. */
  noWorkerAt(site: string): string | undefined {
    return this.#noWorker.get(site);
  }

  skip(entry: PlanEntry, why: string): void {
    this.record(entry, 'skipped', this.deps.now().getTime(), why);
  }

  /** Carry out one entry and record its result; false when it failed. Never throws for a Pulp failure. */
  async run(entry: PlanEntry, fn: () => Promise<void>): Promise<boolean> {
    const { deps, signal } = this;
    const idle = needsWorker(entry) ? this.#noWorker.get(entry.site) : undefined;
    if (idle) {
      this.skip(entry, idle);
      return false;
    }
    const started = deps.now().getTime();
    deps.onEvent?.({
      type: 'action-start', site: entry.site, mirror: entry.mirror, kind: entry.kind, action: entry.action, reason: entry.reason,
      ...(entry.estimate ? { estimate: entry.estimate } : {}), ...(entry.action === 'sync' ? { treeDigest: entry.op.wantDigest } : {}),
    });
    try {
      signal.throwIfAborted();
      await fn();
      this.record(entry, 'succeeded', started);
      return true;
    } catch (err) {
      if (err instanceof PulpNoWorkerError && !signal.aborted) {
        // Not this placement's fault: it waits (Pending) like the syncs of a site observed degraded.
        const why = `site ${entry.site} has ${NO_WORKER}: a ${entryDoing(entry)} there waited ${formatDuration(err.waitedMs)} and was canceled; its tasks start again once one is back`;
        this.#noWorker.set(entry.site, why);
        this.record(entry, 'skipped', started, why);
        return false;
      }
      this.record(entry, 'failed', started, signal.aborted ? `aborted: ${messageOf(signal.reason)}` : explainFailure(entry, err));
      return false;
    }
  }
}

function queueOf(queues: Map<string, PQueue>, site: string, concurrency: number): PQueue {
  let q = queues.get(site);
  if (!q) queues.set(site, (q = new PQueue({ concurrency })));
  return q;
}
