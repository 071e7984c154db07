/**
 * A token bucket for bytes per second, shared by all the downloads of one sync. `take` reserves at
 * once and lets the balance go negative, then sleeps until it is paid back: callers are served in
 * the order they asked, nobody polls, and the long-run rate never exceeds `rate` by more than one
 * burst.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  /** Largest burst: a tenth of a second of traffic, at least 16 KiB. */
  readonly capacity: number;

  constructor(readonly rate: number) {
    if (!(rate >= 1)) throw new RangeError(`bandwidth limit must be at least 1 byte/s, got ${rate}`);
    this.capacity = Math.max(16 * 1024, Math.floor(rate / 10));
    this.tokens = this.capacity;
  }

  /** Wait until `n` bytes may pass. */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    this.tokens -= n;
    if (this.tokens < 0) await sleep((-this.tokens / this.rate) * 1000, undefined, { signal });
  }
}
