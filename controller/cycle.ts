/**
 * One cycle of the loop: read the spec branch's head, then run one reconcile pass over the commit
 * in force. It returns what happened as an outcome and neither logs nor schedules: the outcome
 * handler (outcome.ts) does that in one place, as controller-runtime's `reconcileHandler` does.
 */
import type { PassEvent, PassResult } from '../reconcilers/pass-types.js';
import type { SpecSet } from '../spec/types.js';
import type { GitSource } from '../gitsource/types.js';
import type { Clock } from './clock.js';
import { RunningPass } from './running-pass.js';
import type { TriggerReason } from './schedule.js';
import type { SpecTracker } from './spec-tracker.js';
import type { LoopState } from './state.js';

/** What every outcome carries. */
export interface CycleFacts {
  /** The cycle's number, from 1 (the `pass` field of the log). */
  n: number;
  reasons: ReadonlySet<TriggerReason>;
  /** Epoch ms. */
  startedAt: number;
  /** The commit the pass applied; null when no pass ran. */
  commit: string | null;
  /** Set when the spec repository could not be read (the pass, if any, ran on the last valid commit). */
  gitError: { error: unknown } | null;
  /**
   * What the pass did, counted as its actions ended: known even when the pass was cut short and
   * returned no result (absent: no pass ran).
   */
  actions?: ActionTally;
}

/** Actions of one pass by how they ended. */
export interface ActionTally {
  /** Changes made: creates, updates, deletes, syncs, publishes that succeeded. */
  changes: number;
  failed: number;
  /** Not attempted because something they need failed. */
  skipped: number;
}

/** How a cycle ended. */
export type CycleOutcome = CycleFacts &
  (
    | { kind: 'ok'; result: PassResult }
    /** The spec repository could not be read; the last valid commit was reconciled (`result`), if there is one. */
    | { kind: 'git-error'; error: unknown; result: PassResult | null }
    /** No valid commit has been seen yet: nothing to apply. */
    | { kind: 'no-valid-commit' }
    /** A newer valid commit aborted the pass: not a failure, and the next pass follows at once. */
    | { kind: 'superseded'; error: unknown }
    | { kind: 'deadline'; error: unknown }
    /** The pass threw (shutdown included). */
    | { kind: 'failed'; error: unknown }
    /** Shutdown came while the spec branch was read: no pass ran. */
    | { kind: 'stopped' }
  );

export type OutcomeKind = CycleOutcome['kind'];

export interface CycleDeps {
  source: GitSource;
  specs: SpecTracker;
  reconcile: (specs: SpecSet, opts: { signal: AbortSignal; commit: string; onEvent?: (e: PassEvent) => void }) => Promise<PassResult>;
  state: LoopState;
  /** The running pass's events (live-refresh.ts). */
  onEvent?: (e: PassEvent) => void;
  clock: Clock;
  shutdown: AbortSignal;
  /** How long reading the spec branch may take. */
  gitTimeoutMs: number;
  passDeadlineMs: number;
}

/** The result of the pass the cycle ran, if it returned one. */
export function passResultOf(o: CycleOutcome): PassResult | null {
  return o.kind === 'ok' || o.kind === 'git-error' ? o.result : null;
}

/** Run one cycle; never throws. */
export async function runCycle(d: CycleDeps, n: number, reasons: ReadonlySet<TriggerReason>): Promise<CycleOutcome> {
  const startedAt = d.clock.now();
  const git = await readHead(d);
  const facts: CycleFacts = { n, reasons, startedAt, commit: null, gitError: git === 'stopped' || git.ok ? null : { error: git.error } };
  if (git === 'stopped') return { ...facts, kind: 'stopped' };
  const valid = d.specs.valid;
  if (!valid) return git.ok ? { ...facts, kind: 'no-valid-commit' } : { ...facts, kind: 'git-error', error: git.error, result: null };
  const run = new RunningPass(valid.commit, d.clock, { deadlineMs: d.passDeadlineMs, shutdown: d.shutdown });
  d.state.running = run;
  d.state.live.clear();
  d.state.lastPass = { startedAt: new Date(facts.startedAt), finishedAt: null, result: 'running' };
  d.state.publish();
  const actions: ActionTally = { changes: 0, failed: 0, skipped: 0 };
  const ran = { ...facts, commit: valid.commit, actions };
  const onEvent = (e: PassEvent): void => {
    d.onEvent?.(e);
    if (e.type !== 'action-end') return;
    if (e.result === 'succeeded') actions.changes++;
    else actions[e.result]++;
  };
  try {
    const result = await d.reconcile(valid.specs, { signal: run.signal, commit: valid.commit, onEvent });
    return git.ok ? { ...ran, kind: 'ok', result } : { ...ran, kind: 'git-error', error: git.error, result };
  } catch (error) {
    // Why it ended is read from the signal, not from the error: a pass may throw anything once aborted.
    return { ...ran, kind: run.signal.aborted ? run.abortCause() : 'failed', error };
  } finally {
    run.end();
    d.state.running = null;
    d.state.live.clear();
  }
}

/**
 * Fetch (remote) and validate the spec branch's head. An unreadable repository is not the end of
 * the cycle: the last valid commit stays in force and is reconciled (drift repair goes on).
 */
async function readHead(d: CycleDeps): Promise<{ ok: true } | { ok: false; error: unknown } | 'stopped'> {
  const signal = AbortSignal.any([d.shutdown, d.clock.timeout(d.gitTimeoutMs)]);
  try {
    await d.specs.consider(await d.source.refresh({ signal }), signal);
    d.state.cycleSeen = d.specs.specCommit;
    d.state.gitOk = true;
    return { ok: true };
  } catch (error) {
    d.state.gitOk = false;
    if (d.shutdown.aborted) return 'stopped';
    return { ok: false, error };
  }
}
