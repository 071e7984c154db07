/**
 * The controller loop. Level-triggered: every cycle re-reads the spec branch's head and runs one
 * reconcile pass over the last valid commit, whatever started it (a new commit, the webhook, the
 * interval, a mirror's schedule). Triggers are debounced and merged; one cycle runs at a time.
 *
 * Invariants (STYLE.md): an invalid commit is never applied, its problems are shown and the last
 * valid commit stays in force; `observedCommit` moves only when a pass over that commit returns;
 * status is written in `finally`; errors back off exponentially (capped); a new commit is never
 * held behind a stuck pass for longer than `preemptAfterMs`.
 */
import { isPulpdistError, messageOf } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type { Logger } from '../core/logger.js';
import type { StatusDocument } from '../core/status.js';
import { formatDuration } from '../core/units.js';
import type { PassResult } from '../reconcilers/pass-types.js';
import type { LoadResult, SpecSet } from '../spec/types.js';
import type { GitSource } from '../gitsource/types.js';
import type { TreeFile } from '../gitsource/tree.js';
import { jittered, nextAfterCycle, triggerAt, type TriggerReason } from './schedule.js';
import { PropagationTracker } from '../status/propagation.js';
import { SpecTracker } from './spec-tracker.js';
import { buildStatusDocument, stateCounts } from '../status/model.js';
import type { StatusWriter } from '../status/writer.js';

export type { TriggerReason } from './schedule.js';

/** What the loop reports to (web/metrics.ts implements it). */
export interface LoopMetrics {
  recordPass(result: PassResult | null, durationMs: number, error?: unknown): void;
  recordStatus(doc: StatusDocument): void;
  recordPropagation(mirror: string, site: string, seconds: number): void;
}

export interface LoopDeps {
  source: GitSource;
  /** spec/load.ts `loadSpecFiles`. */
  loadSpecs: (files: TreeFile[]) => LoadResult;
  /** One reconcile pass (reconcilers/pass.ts `reconcilePass` with its deps bound). */
  reconcile: (specs: SpecSet, opts: { signal: AbortSignal }) => Promise<PassResult>;
  /** Null: no status commits (tests of the loop alone, `--status-branch ''`). */
  writer: StatusWriter | null;
  metrics?: LoopMetrics;
  log: Logger;
  now?: () => Date;
  /** Jitter source. @default Math.random */
  random?: () => number;
}

export interface LoopOptions {
  /** Drift repair and polling period. @default 30_000 */
  intervalMs?: number;
  /** A pass running longer is aborted (its running syncs are canceled). @default 3_600_000 */
  passDeadlineMs?: number;
  /** Triggers within this window merge into one cycle. @default 200 */
  debounceMs?: number;
  /** A pass may hold a newer valid commit back this long before it is aborted. @default 60_000 */
  preemptAfterMs?: number;
  /** First retry delay after an error. @default 1_000 */
  backoffBaseMs?: number;
  /** @default 300_000 */
  backoffMaxMs?: number;
  /** Reported as controller.version. */
  version: string;
}

export interface Controller {
  /** Start watching and run the first cycle. */
  start(): Promise<void>;
  /** Ask for a cycle (debounced, merged). */
  trigger(reason: TriggerReason): void;
  /** Run exactly one cycle now (for `--once`); resolves with its pass result. */
  runOnce(): Promise<PassResult | null>;
  getStatus(): StatusDocument;
  /** True once a cycle completed and the Git source answered the last time it was asked. */
  isReady(): boolean;
  /** Stop new work; wait up to `graceMs` for a running pass, then abort it; write status. */
  stop(opts?: { graceMs?: number }): Promise<void>;
  /** Called after every cycle (tests and benchmarks wait on it). */
  onCycle(listener: (doc: StatusDocument) => void): () => void;
}

/** Thrown into a pass that a newer commit superseded. */
export class PassSupersededError extends Error {
  override name = 'PassSupersededError';
}

export function createController(deps: LoopDeps, options: LoopOptions): Controller {
  const {
    intervalMs = 30_000,
    passDeadlineMs = 3_600_000,
    debounceMs = 200,
    preemptAfterMs = 60_000,
    backoffBaseMs = 1_000,
    backoffMaxMs = 300_000,
    version,
  } = options;
  const { source, log, writer, metrics } = deps;
  const now = deps.now ?? (() => new Date());
  const random = deps.random ?? Math.random;
  const startedAt = now();
  const shutdown = new AbortController();
  const propagation = new PropagationTracker(startedAt);
  const listeners = new Set<(doc: StatusDocument) => void>();

  // Spec state.
  const specs = new SpecTracker(source, deps.loadSpecs, log, () => publish());
  let observedCommit: string | null = null;
  let pass: PassResult | null = null;
  let lastPass: { startedAt: Date; finishedAt: Date | null; result: 'succeeded' | 'failed' | 'running'; message?: string } | null = null;
  let doc = snapshot();

  // Loop state.
  let running: Promise<void> | null = null;
  let passAbort: AbortController | null = null;
  let passStart = 0;
  let passCommit: string | null = null;
  const pending = new Set<TriggerReason>();
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  let backoffUntil = 0;
  let failures = 0;
  let cycles = 0;
  let gitOk = false;
  let stopWatch: (() => Promise<void>) | null = null;
  let pollTimer: NodeJS.Timeout | undefined;
  let preemptTimer: NodeJS.Timeout | undefined;
  let passNo = 0;
  /** The head the latest cycle read: a head check that finds the same one has nothing to start. */
  let cycleSeen: string | null = null;
  /** `runOnce` without `start`: nothing is scheduled after the cycle. */
  let started = false;

  function snapshot(): StatusDocument {
    return buildStatusDocument({ version, startedAt, observedCommit, specCommit: specs.specCommit, problems: specs.problems, lastPass, specs: specs.valid?.specs ?? null, pass });
  }
  const publish = (): void => {
    doc = snapshot();
  };

  async function cycle(reasons: Set<TriggerReason>): Promise<PassResult | null> {
    const n = ++passNo;
    const t0 = now();
    let result: PassResult | null = null;
    let error: unknown;
    /** Set when the spec repository could not be read this cycle (the pass runs on the last valid commit). */
    let gitError: unknown = null;
    /** Aborted for a newer commit: not a failure, and the next pass follows at once. */
    let superseded = false;
    try {
      const gitSignal = AbortSignal.any([shutdown.signal, AbortSignal.timeout(Math.max(intervalMs, 30_000))]);
      try {
        await specs.consider(await source.refresh({ signal: gitSignal }), gitSignal);
        cycleSeen = specs.specCommit;
        gitOk = true;
      } catch (err) {
        gitOk = false;
        if (shutdown.signal.aborted) throw err;
        log.error('cannot read the spec repository; reconciling the last valid commit', { repo: source.description, error: err });
        error = err;
        gitError = err;
      }
      const valid = specs.valid;
      if (!valid) return null;
      passAbort = new AbortController();
      passStart = Date.now();
      passCommit = valid.commit;
      const commit = valid.commit;
      lastPass = { startedAt: t0, finishedAt: null, result: 'running' };
      publish();
      const signal = AbortSignal.any([shutdown.signal, AbortSignal.timeout(passDeadlineMs), passAbort.signal]);
      try {
        result = await deps.reconcile(valid.specs, { signal });
        pass = result;
        observedCommit = commit;
        for (const s of propagation.observe(result.mirrors, now())) metrics?.recordPropagation(s.mirror, s.site, s.seconds);
        if (result.failures.length && !error) error = new Error(result.failures.join('; '));
      } catch (err) {
        error = err;
        const reason = signal.reason;
        if (signal.aborted && reason instanceof DOMException && reason.name === 'TimeoutError') {
          log.error(`pass exceeded its deadline of ${formatDuration(passDeadlineMs)}; running syncs were canceled`, { pass: n, commit });
        } else if (signal.aborted && reason instanceof PassSupersededError) {
          superseded = true;
          pending.add('commit');
          log.warn('pass aborted: a newer spec commit is waiting', { pass: n, commit });
        } else if (!shutdown.signal.aborted) {
          log.error('pass failed', { pass: n, commit, error: isPulpdistError(err) ? err : messageOf(err) });
        }
      }
      return result;
    } finally {
      clearTimeout(preemptTimer);
      passAbort = null;
      passCommit = null;
      const t1 = now();
      // The status says why a pass failed: an unreadable spec repository shows nowhere else but the log.
      const why = error ? (error === gitError ? 'cannot read the spec repository; reconciling the last valid commit: ' : '') + redact(messageOf(error)) : '';
      if (lastPass) lastPass = { startedAt: t0, finishedAt: t1, result: error ? 'failed' : 'succeeded', ...(why ? { message: why } : {}) };
      cycles++;
      if (!superseded) failures = error ? failures + 1 : 0;
      publish();
      metrics?.recordPass(result, t1.getTime() - t0.getTime(), error);
      metrics?.recordStatus(doc);
      await writeStatus();
      const next = planNext(result, !!error && !superseded);
      const counts = stateCounts(doc);
      log.info('pass', {
        pass: n,
        trigger: [...reasons].join(','),
        commit: observedCommit?.slice(0, 12) ?? null,
        changes: result?.changes ?? 0,
        converged: result?.converged ?? false,
        states: Object.entries(counts).map(([k, v]) => `${k}:${v}`).join(' ') || 'none',
        duration: formatDuration(t1.getTime() - t0.getTime()),
        next: next ? `${formatDuration(next - Date.now())}` : 'stopped',
      });
      for (const l of listeners) l(doc);
    }
  }

  async function writeStatus(): Promise<void> {
    if (!writer) return;
    try {
      // Status is written even during shutdown, but not forever.
      const r = await writer.write(doc, { signal: AbortSignal.timeout(60_000) });
      if (r.commit) log.info('status committed', { commit: r.commit.slice(0, 12), retries: r.retries });
    } catch (err) {
      log.warn('could not write the status commit; will try after the next pass', { error: err });
    }
  }

  /** Schedule the next cycle; returns its time (epoch ms), or null when stopping. */
  function planNext(result: PassResult | null, failed: boolean): number | null {
    if (shutdown.signal.aborted || !started) return null;
    const next = nextAfterCycle({
      now: Date.now(),
      failed,
      failures,
      nextDueAt: result?.nextDueAt?.getTime() ?? null,
      pending,
      intervalMs,
      debounceMs,
      backoffBaseMs,
      backoffMaxMs,
      random: random(),
    });
    backoffUntil = next.backoffUntil;
    wakeAt(next.at, next.reason);
    return next.at;
  }

  function wakeAt(at: number, reason: TriggerReason): void {
    if (shutdown.signal.aborted) return;
    if (timer && timerAt <= at) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      timerAt = Infinity;
      pending.add(reason);
      kick();
    }, Math.max(0, at - Date.now()));
  }

  function kick(): void {
    if (running || shutdown.signal.aborted || pending.size === 0) return;
    const reasons = new Set(pending);
    pending.clear();
    clearTimeout(timer);
    timer = undefined;
    timerAt = Infinity;
    running = cycle(reasons)
      .then(() => undefined, (err: unknown) => {
        if (!shutdown.signal.aborted) log.error('internal error in the controller loop', { error: messageOf(err) });
      })
      .finally(() => {
        running = null;
      });
  }

  /**
   * Has the spec branch moved? Fetches (remote) and validates a new head at once. During a pass, a
   * new valid commit gives the pass a deadline (`preemptAfterMs` from its start); between passes,
   * a moved branch starts one. A webhook only asks this question: GitLab also announces pushes to
   * other branches, our own status commits included, and those must not start a pass.
   */
  let checking = false;
  let recheck = false;
  async function checkHead(): Promise<void> {
    if (checking) {
      recheck = true;
      return;
    }
    checking = true;
    try {
      do {
        recheck = false;
        const signal = AbortSignal.any([shutdown.signal, AbortSignal.timeout(30_000)]);
        await specs.consider(await source.refresh({ signal }), signal);
        // Nothing new since the latest cycle read the branch (a push elsewhere, our status commit).
        if (specs.specCommit === cycleSeen) continue;
        if (!running) {
          trigger('commit');
          continue;
        }
        // A pass follows the running one; a valid new commit also puts a deadline on it.
        pending.add('commit');
        const newer = specs.valid?.commit;
        if (passAbort && newer && newer !== passCommit) {
          const abort = passAbort;
          const wait = Math.max(0, preemptAfterMs - (Date.now() - passStart));
          clearTimeout(preemptTimer);
          preemptTimer = setTimeout(() => abort.abort(new PassSupersededError(`superseded by ${newer}`)), wait);
        }
      } while (recheck && !shutdown.signal.aborted);
    } catch (err) {
      log.debug('checking the spec branch failed; the next pass will retry', { error: messageOf(err) });
    } finally {
      checking = false;
    }
  }

  function trigger(reason: TriggerReason): void {
    if (shutdown.signal.aborted) return;
    if (reason === 'webhook') {
      void checkHead();
      return;
    }
    pending.add(reason);
    if (running) {
      if (reason === 'commit') void checkHead();
      return;
    }
    // A new commit is a new desired state: it does not wait for an error backoff.
    wakeAt(triggerAt(reason, Date.now(), debounceMs, backoffUntil), reason);
  }

  return {
    async start() {
      started = true;
      stopWatch = await source.watch(() => trigger('commit'));
      // Remote sources are polled; during a long pass this poll is also how a new commit is seen.
      const poll = (): void => {
        pollTimer = setTimeout(() => {
          if (running) void checkHead();
          poll();
        }, jittered(intervalMs, random()));
        pollTimer.unref();
      };
      poll();
      trigger('start');
    },
    trigger,
    async runOnce() {
      return cycle(new Set(['start']));
    },
    getStatus: () => doc,
    isReady: () => cycles > 0 && gitOk,
    onCycle(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop({ graceMs = 30_000 } = {}) {
      clearTimeout(timer);
      clearTimeout(pollTimer);
      pending.clear();
      if (stopWatch) await stopWatch();
      stopWatch = null;
      const inFlight = running;
      if (inFlight) {
        let graceTimer: NodeJS.Timeout | undefined;
        const outOfTime = new Promise<'timeout'>((r) => (graceTimer = setTimeout(() => r('timeout'), graceMs)));
        const first = await Promise.race([inFlight.then(() => 'done' as const), outOfTime]);
        clearTimeout(graceTimer);
        if (first === 'timeout') log.warn('shutting down: aborting the running pass', { graceMs });
        shutdown.abort(new Error('shutting down'));
        await inFlight;
      } else {
        shutdown.abort(new Error('shutting down'));
      }
      clearTimeout(timer);
    },
  };
}
