/**
 * The outcome handler: the one place that turns how a cycle ended into its consequences, as
 * controller-runtime's `reconcileHandler` does. `judge` (pure) says whether it failed, what the
 * status and the log say and whether the next cycle backs off; `handleOutcome` applies that: the
 * pass in force, metrics, the status commit, the next cycle and the one summary line.
 */
import { isPulpdistError, messageOf } from '../core/errors.js';
import type { LogLevel, Logger, LogFields } from '../core/logger.js';
import { redact } from '../core/redact.js';
import type { StatusDocument } from '../core/status.js';
import { formatDuration } from '../core/units.js';
import { PassFailedError, PassFailure } from '../reconcilers/failures.js';
import type { PassResult } from '../reconcilers/pass-types.js';
import { stateCounts } from '../status/model.js';
import type { PropagationTracker } from '../status/propagation.js';
import type { StatusWriter } from '../status/writer.js';
import type { Clock } from './clock.js';
import { passResultOf, type CycleOutcome } from './cycle.js';
import type { FailureLog } from './failure-log.js';
import { nextAfterCycle, type TriggerReason } from './schedule.js';
import type { LoopState } from './state.js';
import type { NextCycle, TriggerQueue } from './trigger-queue.js';

/** What the loop reports to (web/metrics.ts implements it). */
export interface LoopMetrics {
  recordPass(result: PassResult | null, durationMs: number, error?: unknown): void;
  recordStatus(doc: StatusDocument): void;
  recordPropagation(mirror: string, site: string, seconds: number): void;
}

/** The timing options the handler schedules with (LoopOptions, defaults applied). */
export interface ScheduleOptions {
  intervalMs: number;
  debounceMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  passDeadlineMs: number;
}

export interface LogLine {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/** What an outcome means; plain data. */
export interface Verdict {
  /** What failed, for metrics and the status (undefined: nothing). */
  error: unknown;
  /** `lastPass.message`; '' when nothing failed. */
  message: string;
  /** The result to take as the pass in force (null: keep the previous one). */
  result: PassResult | null;
  /** `lastPass` records this cycle: a pass ran. */
  recordsPass: boolean;
  /** Consecutive failures after this cycle. */
  failures: number;
  /** The next cycle waits out a backoff. */
  backoff: boolean;
  /** A reason the outcome itself queues for the next cycle (a superseded pass: the newer commit). */
  requeue: TriggerReason | null;
  /** The error lines to log (the summary line aside). */
  logs: LogLine[];
}

export interface JudgeContext {
  /** Consecutive failures before this cycle. */
  failures: number;
  /** The controller is shutting down: an aborted pass is not worth an error line. */
  stopping: boolean;
  passDeadlineMs: number;
  /** The spec repository for people (GitSource.description). */
  repo: string;
}

const GIT_ERROR = 'cannot read the spec repository; reconciling the last valid commit';

/**
 * The one place the loop reads a pass result's failures (reconcilers/ owns their type): a pass
 * that returned with failures failed.
 */
export function passFailure(result: PassResult): Error | undefined {
  return result.failures.length ? new PassFailedError(result.failures) : undefined;
}

/**
 * The unreadable spec repository as a failure for the failure log: a new one is logged once (at
 * error, with the repository and cause), while it persists it is counted with the others, and its
 * end is logged as recovered. It used to be an error line at every retry.
 */
export function specGitFailure(o: CycleOutcome, repo: string): PassFailure | null {
  return o.gitError ? PassFailure.ofSpecRepository(`${GIT_ERROR} (${repo}): ${redact(messageOf(o.gitError.error))}`) : null;
}

/** Judge a cycle's outcome. Pure. */
export function judge(o: CycleOutcome, c: JudgeContext): Verdict {
  const at = { pass: o.n, commit: o.commit };
  // Logged whatever the pass did next (the status shows it only when nothing worse happened); by
  // the failure log when the pass has a result (once, then counted: specGitFailure), else here.
  const gitLine: LogLine[] = o.gitError && !passResultOf(o) ? [{ level: 'error', message: GIT_ERROR, fields: { repo: c.repo, error: o.gitError.error } }] : [];
  const failed = (error: unknown, logs: LogLine[], extra: Partial<Verdict> = {}): Verdict => ({
    error, message: redact(messageOf(error)), result: null, recordsPass: true, failures: c.failures + 1, backoff: true, requeue: null, logs: [...gitLine, ...logs], ...extra,
  });
  switch (o.kind) {
    case 'ok': {
      const error = passFailure(o.result);
      if (error) return failed(error, [], { result: o.result });
      return { error: undefined, message: '', result: o.result, recordsPass: true, failures: 0, backoff: false, requeue: null, logs: [] };
    }
    case 'git-error':
      // The status says why: an unreadable spec repository shows nowhere else but the log.
      return failed(o.error, [], {
        message: `${GIT_ERROR}: ${redact(messageOf(o.error))}`, result: o.result, recordsPass: o.result !== null,
      });
    case 'no-valid-commit':
    case 'stopped':
      return { error: undefined, message: '', result: null, recordsPass: false, failures: 0, backoff: false, requeue: null, logs: [] };
    case 'superseded':
      // Not a failure: the newer commit runs next, at once.
      return failed(o.error, [{ level: 'warn', message: 'pass aborted: a newer spec commit is waiting', fields: at }], {
        failures: c.failures, backoff: false, requeue: 'commit',
      });
    case 'deadline':
      return failed(o.error, [{ level: 'error', message: `pass exceeded its deadline of ${formatDuration(c.passDeadlineMs)}; running syncs were canceled`, fields: at }]);
    case 'failed':
      return failed(o.error, c.stopping ? [] : [{ level: 'error', message: 'pass failed', fields: { ...at, error: isPulpdistError(o.error) ? o.error : messageOf(o.error) } }]);
  }
}

/** When the next cycle starts after `v` (schedule.ts has the rules). */
export function decideNext(v: Verdict, o: { now: number; pending: ReadonlySet<TriggerReason>; random: number; options: ScheduleOptions }): NextCycle {
  return nextAfterCycle({
    now: o.now,
    failed: v.backoff,
    failures: v.failures,
    nextDueAt: v.result?.nextDueAt?.getTime() ?? null,
    pending: o.pending,
    intervalMs: o.options.intervalMs,
    debounceMs: o.options.debounceMs,
    backoffBaseMs: o.options.backoffBaseMs,
    backoffMaxMs: o.options.backoffMaxMs,
    random: o.random,
  });
}

export interface OutcomeDeps {
  state: LoopState;
  queue: TriggerQueue;
  propagation: PropagationTracker;
  /** Null: no status commits. */
  writer: StatusWriter | null;
  metrics?: LoopMetrics;
  log: Logger;
  clock: Clock;
  /** Jitter source, in [0, 1). */
  random: () => number;
  options: ScheduleOptions;
  repo: string;
  /** True while cycles are to be scheduled (started, not stopping). */
  scheduling: () => boolean;
  stopping: () => boolean;
  /** Told after every cycle. */
  listeners: ReadonlySet<(doc: StatusDocument) => void>;
  /** Logs each pass's failures once when new, counted while they persist, and their recovery. */
  failureLog?: FailureLog;
}

/** Apply an outcome: state, metrics, status commit, next cycle, one summary line. */
export async function handleOutcome(d: OutcomeDeps, o: CycleOutcome): Promise<void> {
  const { state } = d;
  const v = judge(o, { failures: state.failures, stopping: d.stopping(), passDeadlineMs: d.options.passDeadlineMs, repo: d.repo });
  for (const l of v.logs) d.log[l.level](l.message, l.fields);
  if (v.result) {
    const git = specGitFailure(o, d.repo);
    d.failureLog?.record(git ? [...v.result.failures, git] : v.result.failures, o.n, d.clock.now());
    state.pass = v.result;
    state.observedCommit = o.commit;
    for (const s of d.propagation.observe(v.result.mirrors, new Date(d.clock.now()))) d.metrics?.recordPropagation(s.mirror, s.site, s.seconds);
  }
  const finishedAt = d.clock.now();
  if (v.recordsPass) {
    state.lastPass = { startedAt: new Date(o.startedAt), finishedAt: new Date(finishedAt), result: v.error === undefined ? 'succeeded' : 'failed', ...(v.message ? { message: v.message } : {}) };
  }
  state.cycles++;
  state.failures = v.failures;
  if (v.requeue) d.queue.requeue(v.requeue);
  const doc = state.publish();
  d.metrics?.recordPass(v.result, finishedAt - o.startedAt, v.error);
  d.metrics?.recordStatus(doc);
  await writeStatus(d, doc);
  const next = d.scheduling() ? decideNext(v, { now: d.clock.now(), pending: d.queue.pending, random: d.random(), options: d.options }) : null;
  if (next) d.queue.schedule(next);
  d.log.info('pass', summary(o, v, doc, state.observedCommit, finishedAt, next ? next.at - d.clock.now() : null));
  for (const l of d.listeners) l(doc);
}

function summary(o: CycleOutcome, v: Verdict, doc: StatusDocument, observed: string | null, finishedAt: number, nextInMs: number | null): LogFields {
  return {
    pass: o.n,
    trigger: [...o.reasons].join(','),
    commit: observed?.slice(0, 12) ?? null,
    // Counted as actions ended, so a pass cut short still says what it changed; failures apart.
    changes: o.actions?.changes ?? v.result?.changes ?? 0,
    failed: o.actions?.failed ?? 0,
    ...(o.actions?.skipped ? { skipped: o.actions.skipped } : {}),
    converged: v.result?.converged ?? false,
    states: Object.entries(stateCounts(doc)).map(([k, n]) => `${k}:${n}`).join(' ') || 'none',
    duration: formatDuration(finishedAt - o.startedAt),
    next: nextInMs === null ? 'stopped' : formatDuration(nextInMs),
  };
}

async function writeStatus(d: OutcomeDeps, doc: StatusDocument): Promise<void> {
  if (!d.writer) return;
  try {
    // Status is written even during shutdown, but not forever.
    const r = await d.writer.write(doc, { signal: d.clock.timeout(60_000) });
    if (r.commit) d.log.info('status committed', { commit: r.commit.slice(0, 12), retries: r.retries });
  } catch (err) {
    d.log.warn('could not write the status commit; will try after the next pass', { error: err });
  }
}
