/**
 * The controller's only source of time. Every timer, timeout and "now" in controller/ goes through
 * a Clock, so that a test can drive the schedule (debounce, backoff, preemption, deadlines) with a
 * clock it advances by hand instead of waiting for the real one.
 */

/** A pending timer; `clear` is idempotent. */
export interface Timer {
  clear(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Call `fn` once, `ms` from now (a negative delay means at once, on a later turn).
   * `unref`: the timer alone does not keep the process alive (a poll, not a pending cycle).
   */
  setTimeout(fn: () => void, ms: number, opts?: { unref?: boolean }): Timer;
  /**
   * A signal that aborts `ms` from now with a `TimeoutError` DOMException, as `AbortSignal.timeout`
   * does: a deadline is told apart from other aborts by that name.
   */
  timeout(ms: number): AbortSignal;
}

/** The process's clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms, { unref = false } = {}) {
    const t = setTimeout(fn, Math.max(0, ms));
    if (unref) t.unref();
    return { clear: () => clearTimeout(t) };
  },
  // Not a setTimeout of our own: AbortSignal.timeout's timer never keeps the process alive and
  // needs no clearing when the work finishes first (a pass deadline is an hour by default).
  timeout: (ms) => AbortSignal.timeout(ms),
};

/** Resolves with `'timeout'` after `ms` on `clock`, unless `cancel` is called first. */
export function sleepOrCancel(clock: Clock, ms: number): { done: Promise<'timeout'>; cancel(): void } {
  let timer: Timer | undefined;
  const done = new Promise<'timeout'>((resolve) => {
    timer = clock.setTimeout(() => resolve('timeout'), ms);
  });
  return { done, cancel: () => timer?.clear() };
}
