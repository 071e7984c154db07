/**
 * A clock the test moves by hand (controller/clock.ts): timers fire in time order, and only when
 * `advance` passes their time; between timers the test's promises are allowed to settle.
 */
import type { Clock, Timer } from '../../controller/clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Set<Pending>();

  constructor(start = 1_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(p);
    return { clear: () => void this.timers.delete(p) };
  }

  timeout(ms: number): AbortSignal {
    const c = new AbortController();
    this.setTimeout(() => c.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
    return c.signal;
  }

  /** Times of the timers not yet fired, in order. */
  get due(): number[] {
    return [...this.timers].map((p) => p.at).sort((a, b) => a - b);
  }

  /** Move time forward by `ms`, firing every timer due on the way (and those they set). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const next = [...this.timers].filter((p) => p.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.timers.delete(next);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    await settle();
  }
}

/** Let pending promise callbacks run (a turn of the event loop, no wall-clock wait). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
