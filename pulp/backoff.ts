/**
 * Delays between retries and between task polls: pure functions (the random source is passed in),
 * so the schedule can be tested as a table.
 */
/**
 * Delay before retry number `attempt` (1-based): exponential from `baseMs`, capped at `maxMs`,
 * with "full jitter" (uniform in [cap/2, cap]) so that many clients retrying one recovering
 * server do not arrive together. A server's `Retry-After` (ms) wins when it is longer, up to `maxMs`.
 */
export function retryDelayMs(
  attempt: number,
  opts: { baseMs: number; maxMs: number; retryAfterMs?: number | null; random?: () => number },
): number {
  const { baseMs, maxMs, retryAfterMs = null, random = Math.random } = opts;
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = cap / 2 + random() * (cap / 2);
  const wanted = retryAfterMs !== null && retryAfterMs > jittered ? retryAfterMs : jittered;
  return Math.round(Math.min(wanted, maxMs));
}

/**
 * Delay before the next poll of a task followed for `elapsedMs` so far: a `share` of the time
 * already waited, within [minMs, maxMs]. A task is then seen finished at most `share` × its
 * duration (or `minMs`) after it finished; delays doubling from `minMs` saw it up to 100% late (a
 * sync ending at 2.0 s seen at ≈ 3.2 s). The price is more polls for long tasks: about
 * log(T / minMs) / log(1 + share) instead of log2(T / minMs).
 */
export function pollDelayMs(elapsedMs: number, opts: { minMs: number; maxMs: number; share: number }): number {
  return Math.round(Math.min(opts.maxMs, Math.max(opts.minMs, elapsedMs * opts.share)));
}

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date (relative to `now`).
 * Null when absent or unparsable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return null;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The abortable sleep lives with the retry loop (core/retry.ts); task polls use it too. */
export { sleep } from '../core/retry.js';
