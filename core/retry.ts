/**
 * The one retry loop of pulpdist (Pulp API calls in pulp/transport.ts, sync downloads in
 * site/download.ts). What may be retried and how long to wait are the caller's: only it knows
 * which calls are safe to repeat and whose backoff it follows; the loop owns the counting, the
 * abortable waits, and that an abort always wins over a retry.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';

export interface RetryOptions {
  /** Attempts after the first one. */
  retries: number;
  /** Whether this failure may be retried at all (a 404 may not; a reset connection of a GET may). */
  retryable: (err: unknown) => boolean;
  /** Milliseconds to wait before retry number `attempt` (1-based), given the failure. */
  delayMs: (attempt: number, err: unknown) => number;
  signal?: AbortSignal;
  /** Told before each wait, e.g. to log it. */
  onRetry?: (info: { attempt: number; retries: number; delayMs: number; error: unknown }) => void;
}

/**
 * Run `fn` until it succeeds, fails with what may not be retried, or has failed `retries + 1`
 * times (then its last error is thrown). Once `signal` is aborted, its reason is thrown instead.
 */
export async function withRetries<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (attempt > opts.retries || !opts.retryable(err)) throw err;
      const delayMs = opts.delayMs(attempt, err);
      opts.onRetry?.({ attempt, retries: opts.retries, delayMs, error: err });
      await sleep(delayMs, opts.signal);
    }
  }
}

/** Sleep that rejects with the signal's reason as soon as it aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await sleepFor(ms, undefined, signal ? { signal } : undefined).catch((err: unknown) => {
    // timers/promises rejects with a generic AbortError; the caller's own reason says more.
    if (signal?.aborted) throw signal.reason;
    throw err;
  });
}
