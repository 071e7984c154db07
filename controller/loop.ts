/**
 * The controller loop. Level-triggered: every cycle re-reads the spec branch's head and runs one
 * reconcile pass over the last valid commit, whatever started it (a new commit, the webhook, the
 * interval, a mirror's schedule). This module wires the parts:
 * - trigger-queue.ts: debounce, merge, one cycle at a time, one more after a trigger mid-cycle;
 * - cycle.ts: one cycle (read the head, run the pass) returning an outcome;
 * - outcome.ts: the one handler of outcomes (status, metrics, backoff or requeue, the log line);
 * - head-check.ts: a moved spec branch during a pass (preemption) or from the webhook;
 * - clock.ts: every timer and "now", so that a test clock can drive the schedule.
 *
 * Invariants (STYLE.md): an invalid commit is never applied, its problems are shown and the last
 * valid commit stays in force; `observedCommit` moves only when a pass over that commit returns;
 * status is written after every cycle; errors back off exponentially (capped); a new commit is
 * never held behind a stuck pass for longer than `preemptAfterMs`.
 */
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { MirrorStatus, SiteStatus, StatusDocument } from '../core/status.js';
import type { PassEvent, PassResult } from '../reconcilers/pass-types.js';
import type { LoadResult, SpecSet } from '../spec/types.js';
import type { GitSource } from '../gitsource/types.js';
import type { TreeFile } from '../gitsource/tree.js';
import { PropagationTracker } from '../status/propagation.js';
import type { StatusWriter } from '../status/writer.js';
import { sleepOrCancel, systemClock, type Clock, type Timer } from './clock.js';
import { passResultOf, runCycle, type CycleDeps, type CycleOutcome } from './cycle.js';
import { createHeadCheck } from './head-check.js';
import type { LoopEvents } from './events.js';
import { FailureLog } from './failure-log.js';
import { liveRefresh } from './live-refresh.js';
import { handleOutcome, type LoopMetrics, type OutcomeDeps } from './outcome.js';
import { jittered, type TriggerReason } from './schedule.js';
import { SpecTracker } from './spec-tracker.js';
import { LoopState } from './state.js';
import { TriggerQueue } from './trigger-queue.js';

export type { TriggerReason } from './schedule.js';
export type { LoopMetrics } from './outcome.js';
export { PassSupersededError } from './running-pass.js';

export interface LoopDeps {
  source: GitSource;
  /** spec/load.ts `loadSpecFiles`. */
  loadSpecs: (files: TreeFile[]) => LoadResult;
  /** One reconcile pass (reconcilers/pass.ts `reconcilePass` with its deps bound): `commit` is the one applied (its
   * message may approve a mass delete); `onEvent` feeds the live status. */
  reconcile: (specs: SpecSet, opts: { signal: AbortSignal; commit: string; onEvent?: (e: PassEvent) => void }) => Promise<PassResult>;
  /** Null: no status commits (tests of the loop alone, `--status-branch ''`). */
  writer: StatusWriter | null;
  metrics?: LoopMetrics;
  log: Logger;
  /** Every "now", timer and timeout of the loop. @default systemClock */
  clock?: Clock;
  /** Where the loop's events go (events.ts ControllerEvents); none: no events. */
  events?: LoopEvents;
  /** Jitter source. @default Math.random */
  random?: () => number;
  /**
   * The status the controller last committed, read at start (controller/history.ts): its
   * placements and `observedCommit` stand until a pass of this process reports.
   */
  restored?: { observedCommit: string | null; mirrors: MirrorStatus[]; sites: SiteStatus[] } | null;
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
  /**
   * Before `start` (a standby replica): show this status, read from the status branch, as the
   * last known one. Ignored once started: then the passes say what is.
   */
  showKnown(known: { observedCommit: string | null; mirrors: MirrorStatus[]; sites: SiteStatus[] }): void;
  /** Stop new work; wait up to `graceMs` for a running pass, then abort it; write status. */
  stop(opts?: { graceMs?: number }): Promise<void>;
  /** Called after every cycle (tests and benchmarks wait on it). */
  onCycle(listener: (doc: StatusDocument) => void): () => void;
}

export function createController(deps: LoopDeps, options: LoopOptions): Controller {
  const { intervalMs = 30_000, passDeadlineMs = 3_600_000, debounceMs = 200, preemptAfterMs = 60_000, backoffBaseMs = 1_000, backoffMaxMs = 300_000, version } = options;
  const { source, log } = deps;
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const startedAt = new Date(clock.now());
  const shutdown = new AbortController();
  const listeners = new Set<(doc: StatusDocument) => void>();
  const specs = new SpecTracker(source, deps.loadSpecs, log, () => state.publish());
  const state = new LoopState({ version, startedAt, specs });
  const propagation = new PropagationTracker(startedAt);
  state.propagation = (mirror, site) => propagation.seconds(mirror, site);
  if (deps.restored) {
    state.restore({ mirrors: deps.restored.mirrors, sites: deps.restored.sites });
    state.observedCommit = deps.restored.observedCommit;
    propagation.restore(deps.restored.mirrors);
  }
  state.publish();
  /** `runOnce` without `start`: nothing is scheduled after the cycle. */
  let started = false;
  let passNo = 0;

  const queue = new TriggerQueue({
    clock,
    debounceMs,
    run: async (reasons) => void (await cycle(reasons)),
    onError: (err) => {
      if (!shutdown.signal.aborted) log.error('internal error in the controller loop', { error: messageOf(err) });
    },
  });
  // The running pass's syncs, shown as they go (the outcome renders the pass's end).
  const live = liveRefresh({ state, clock, render: () => deps.metrics?.recordStatus(state.publish()) });
  const onEvent = (e: PassEvent): void => {
    live.onEvent(e);
    deps.events?.onPassEvent(e, specs.valid?.specs ?? null);
  };
  const cycleDeps: CycleDeps = {
    source, specs, reconcile: deps.reconcile, state, clock, shutdown: shutdown.signal, gitTimeoutMs: Math.max(intervalMs, 30_000), passDeadlineMs, onEvent,
  };
  if (deps.events) {
    const events = deps.events;
    listeners.add((doc) => events.afterCycle(doc, specs.valid?.specs ?? null, specs.problems));
  }
  const outcomeDeps: OutcomeDeps = {
    state, queue, propagation, writer: deps.writer, metrics: deps.metrics, log, clock, random, repo: source.description, listeners,
    failureLog: new FailureLog(log),
    options: { intervalMs, debounceMs, backoffBaseMs, backoffMaxMs, passDeadlineMs },
    scheduling: () => started && !shutdown.signal.aborted,
    stopping: () => shutdown.signal.aborted,
  };
  const checkHead = createHeadCheck({ source, specs, state, queue, clock, shutdown: shutdown.signal, preemptAfterMs, log });

  /** One cycle and its outcome. */
  const cycle = async (reasons: ReadonlySet<TriggerReason>): Promise<CycleOutcome> => {
    const outcome = await runCycle(cycleDeps, ++passNo, reasons);
    live.cancel();
    await handleOutcome(outcomeDeps, outcome);
    return outcome;
  };

  function trigger(reason: TriggerReason): void {
    if (shutdown.signal.aborted) return;
    if (reason === 'webhook') return void checkHead();
    const running = queue.running;
    // A new commit is a new desired state: between cycles it does not wait for an error backoff.
    queue.add(reason);
    if (running && reason === 'commit') void checkHead();
  }

  let stopWatch: (() => Promise<void>) | null = null;
  // Remote sources are polled; during a long pass this poll is also how a new commit is seen.
  const poller = repeat(clock, () => jittered(intervalMs, random()), () => {
    if (queue.running) void checkHead();
  });

  return {
    async start() {
      started = true;
      stopWatch = await source.watch(() => trigger('commit'));
      poller.start();
      trigger('start');
    },
    trigger,
    runOnce: async () => passResultOf(await cycle(new Set(['start']))),
    getStatus: () => state.doc,
    showKnown(known) {
      if (started) return;
      state.restore({ mirrors: known.mirrors, sites: known.sites });
      state.observedCommit = known.observedCommit;
      propagation.restore(known.mirrors);
      state.publish();
    },
    isReady: () => state.cycles > 0 && state.gitOk,
    onCycle(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop({ graceMs = 30_000 } = {}) {
      queue.close();
      poller.stop();
      await stopWatch?.();
      stopWatch = null;
      const inFlight = queue.inFlight;
      if (inFlight && (await withinGrace(clock, inFlight, graceMs)) === 'timeout') log.warn('shutting down: aborting the running pass', { graceMs });
      shutdown.abort(new Error('shutting down'));
      await inFlight;
      await deps.events?.close(new Date(clock.now() + 5_000));
    },
  };
}

/** Call `fn` every `delay()` ms (unref'd: a poll never keeps the process alive) until stopped. */
function repeat(clock: Clock, delay: () => number, fn: () => void): { start(): void; stop(): void } {
  let timer: Timer | undefined;
  let stopped = false;
  const arm = (): void => {
    if (stopped) return;
    timer = clock.setTimeout(() => {
      fn();
      arm();
    }, delay(), { unref: true });
  };
  return {
    start: arm,
    stop() {
      stopped = true;
      timer?.clear();
    },
  };
}

/** Whether `work` settles within `graceMs`. */
async function withinGrace(clock: Clock, work: Promise<void>, graceMs: number): Promise<'done' | 'timeout'> {
  const grace = sleepOrCancel(clock, graceMs);
  try {
    return await Promise.race([work.then(() => 'done' as const), grace.done]);
  } finally {
    grace.cancel();
  }
}
