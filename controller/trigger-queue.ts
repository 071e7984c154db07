/**
 * The loop's work queue, as controller-runtime's workqueue is for one key: triggers that arrive
 * close together merge into one cycle (debounce), a trigger that arrives while a cycle runs makes
 * exactly one more cycle run after it, and two cycles never run at once. The queue knows when a
 * trigger may start a cycle (schedule.ts `triggerAt`: a new commit does not wait out an error
 * backoff, drift repair does); what happens after a cycle is the outcome handler's choice, handed
 * back through `schedule`.
 */
import type { Clock, Timer } from './clock.js';
import { triggerAt, type TriggerReason } from './schedule.js';

export interface TriggerQueueOptions {
  clock: Clock;
  /** Triggers within this window merge into one cycle. */
  debounceMs: number;
  /** One cycle over the merged reasons. */
  run: (reasons: ReadonlySet<TriggerReason>) => Promise<void>;
  /** A cycle threw (a bug: cycles report failures as outcomes). */
  onError: (err: unknown) => void;
}

/** When the next cycle starts, as the outcome handler decided it. */
export interface NextCycle {
  /** Epoch ms. */
  at: number;
  /** Recorded as the reason of the cycle the timer starts. */
  reason: TriggerReason;
  /** Until when triggers that are not urgent wait (epoch ms; 0: no backoff). */
  backoffUntil: number;
}

export class TriggerQueue {
  private readonly waiting = new Set<TriggerReason>();
  private timer: Timer | undefined;
  private timerAt = Infinity;
  private backoffUntil = 0;
  private current: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly o: TriggerQueueOptions) {}

  /** Reasons waiting for the next cycle (those that arrived during the running one included). */
  get pending(): ReadonlySet<TriggerReason> {
    return this.waiting;
  }

  /** True while a cycle runs. */
  get running(): boolean {
    return this.current !== null;
  }

  /** The running cycle (settles when it ends, never rejects), or null. */
  get inFlight(): Promise<void> | null {
    return this.current;
  }

  /** When the next cycle is due (epoch ms), or null when nothing is scheduled. */
  get dueAt(): number | null {
    return this.timer ? this.timerAt : null;
  }

  /**
   * Ask for a cycle. Between cycles it starts after the debounce (after the backoff too, unless the
   * reason is urgent); during one it is remembered and runs once more afterwards.
   */
  add(reason: TriggerReason): void {
    if (this.closed) return;
    this.waiting.add(reason);
    if (this.running) return;
    this.wakeAt(triggerAt(reason, this.o.clock.now(), this.o.debounceMs, this.backoffUntil), reason);
  }

  /**
   * Queue `reason` for the next cycle without waking: for the outcome handler, which schedules
   * that cycle itself.
   */
  requeue(reason: TriggerReason): void {
    if (!this.closed) this.waiting.add(reason);
  }

  /** Set the next cycle and the backoff (an earlier wake already set stays). */
  schedule(next: NextCycle): void {
    this.backoffUntil = next.backoffUntil;
    this.wakeAt(next.at, next.reason);
  }

  /** No cycle starts any more; the running one (see `inFlight`) is left to finish. */
  close(): void {
    this.closed = true;
    this.waiting.clear();
    this.clearTimer();
  }

  private wakeAt(at: number, reason: TriggerReason): void {
    if (this.closed) return;
    if (this.timer && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.waiting.add(reason);
      this.kick();
    }, at - this.o.clock.now());
  }

  private clearTimer(): void {
    this.timer?.clear();
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private kick(): void {
    if (this.current || this.closed || this.waiting.size === 0) return;
    const reasons = new Set(this.waiting);
    this.waiting.clear();
    this.clearTimer();
    this.current = this.o
      .run(reasons)
      .then(undefined, (err: unknown) => this.o.onError(err))
      .finally(() => {
        this.current = null;
        // Normally the outcome handler has already scheduled these (its next cycle takes the
        // pending reasons into account); this keeps "re-added while running runs once more" true
        // for a run that scheduled nothing.
        for (const r of [...this.waiting]) this.wakeAt(triggerAt(r, this.o.clock.now(), this.o.debounceMs, this.backoffUntil), r);
      });
  }
}
