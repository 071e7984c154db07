/**
 * When the loop runs next: pure arithmetic over the loop's state, so that the rules (interval
 * with ±10% jitter, a schedule coming due, capped exponential backoff after an error, a new commit
 * never waiting for a backoff) are written once and tested as a table.
 */

export type TriggerReason = 'start' | 'commit' | 'webhook' | 'interval' | 'schedule' | 'retry';

/** A new desired state (or the first run) starts at once; drift repair waits out a backoff. */
export const URGENT: ReadonlySet<TriggerReason> = new Set(['start', 'commit', 'webhook']);

/** `ms` ± 10%, `random` in [0, 1). */
export function jittered(ms: number, random: number): number {
  return Math.round(ms * (0.9 + 0.2 * random));
}

/** The delay after the `failures`-th consecutive failure: base, 2·base, 4·base … capped. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30), maxMs);
}

/** When a trigger arriving between cycles should start one. */
export function triggerAt(reason: TriggerReason, now: number, debounceMs: number, backoffUntil: number): number {
  return URGENT.has(reason) ? now + debounceMs : Math.max(backoffUntil, now + debounceMs);
}

export interface AfterCycle {
  now: number;
  /** The cycle failed (Git unreadable, the pass threw or reported failures). */
  failed: boolean;
  /** Consecutive failures including this one. */
  failures: number;
  /** Earliest schedule due, from the pass (epoch ms). */
  nextDueAt: number | null;
  /** Triggers that arrived during the cycle. */
  pending: ReadonlySet<TriggerReason>;
  intervalMs: number;
  debounceMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** In [0, 1), for the jitter. */
  random: number;
}

/** When the next cycle starts after one ends, and until when non-urgent triggers wait. */
export function nextAfterCycle(s: AfterCycle): { at: number; backoffUntil: number; reason: TriggerReason } {
  const soon = s.now + s.debounceMs;
  let at: number;
  let backoffUntil = 0;
  if (s.failed) {
    backoffUntil = s.now + backoffDelay(s.failures, s.backoffBaseMs, s.backoffMaxMs);
    at = backoffUntil;
  } else {
    at = s.now + jittered(s.intervalMs, s.random);
    if (s.nextDueAt !== null && s.nextDueAt < at) at = Math.max(s.nextDueAt, soon);
  }
  for (const r of s.pending) at = Math.min(at, triggerAt(r, s.now, s.debounceMs, backoffUntil));
  return { at, backoffUntil, reason: s.failed ? 'retry' : 'interval' };
}
