/**
 * The pass a cycle is running, as the rest of the loop may touch it: a head check that finds a
 * newer valid commit puts a deadline on it (`supersede`), and the cycle tells why it ended by the
 * reason its signal carries (the pass deadline, a newer commit, or shutdown).
 */
import type { Clock, Timer } from './clock.js';

/** Thrown into a pass that a newer commit superseded. */
export class PassSupersededError extends Error {
  override name = 'PassSupersededError';
}

/** Why a pass's signal was aborted, read from its reason ('failed': shutdown, or anything else). */
export type AbortCause = 'deadline' | 'superseded' | 'failed';

export class RunningPass {
  /** Aborted at the pass deadline, on shutdown, or when a newer commit supersedes the pass. */
  readonly signal: AbortSignal;
  /** Epoch ms. */
  readonly startedAt: number;
  private readonly superseded = new AbortController();
  private preempt: Timer | undefined;

  constructor(
    /** The spec commit the pass applies. */
    readonly commit: string,
    private readonly clock: Clock,
    o: { deadlineMs: number; shutdown: AbortSignal },
  ) {
    this.startedAt = clock.now();
    this.signal = AbortSignal.any([o.shutdown, clock.timeout(o.deadlineMs), this.superseded.signal]);
  }

  /**
   * A newer valid commit is waiting: abort this pass `afterMs` after it started (at once if that
   * is past), so that a stuck pass holds a new desired state back for a bounded time only.
   */
  supersede(newer: string, afterMs: number): void {
    const wait = Math.max(0, afterMs - (this.clock.now() - this.startedAt));
    this.preempt?.clear();
    this.preempt = this.clock.setTimeout(() => this.superseded.abort(new PassSupersededError(`superseded by ${newer}`)), wait);
  }

  /** Why the signal was aborted (meaningful once it is). */
  abortCause(): AbortCause {
    const reason: unknown = this.signal.reason;
    if (reason instanceof DOMException && reason.name === 'TimeoutError') return 'deadline';
    if (reason instanceof PassSupersededError) return 'superseded';
    return 'failed';
  }

  /** The pass is over: a pending preemption must not fire into the next one. */
  end(): void {
    this.preempt?.clear();
    this.preempt = undefined;
  }
}
