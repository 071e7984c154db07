/**
 * What every sink shares: a bounded queue that `enqueue` fills without waiting, counters a metrics
 * layer can read, one log line per change of state (not per event: a dead sink must not flood the
 * log), and `close` that keeps delivering until a deadline, then gives up and counts what is left.
 */
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/redact.js';
import type { PulpdistEvent } from './build.js';
import { BoundedQueue, noDrops } from './queue.js';
import type { DropCounts } from './queue.js';

/** A sink's counters, cumulative since the bus was made. */
export interface SinkStats {
  sink: string;
  kind: 'http' | 'amqp';
  /** Events handed to this sink (after its filter). */
  accepted: number;
  delivered: number;
  dropped: DropCounts;
  /** Attempts beyond the first (HTTP), or re-sends after a reconnect (AMQP). */
  retries: number;
  /** Waiting in the queue now. */
  queued: number;
  /** Sent, not yet answered. */
  inFlight: number;
  /** AMQP: connected to the broker now. HTTP: the last attempt got an answer. */
  up: boolean;
  /** The last failure, redacted; cleared by the next success. */
  lastError?: string;
}

/** What `close` reports per sink. */
export interface SinkCloseReport {
  sink: string;
  delivered: number;
  /** Dropped at close (queued or in flight at the deadline). */
  abandoned: number;
}

export interface Sink {
  readonly name: string;
  /** Never waits, never throws: a full queue drops its oldest event and counts it. */
  enqueue(event: PulpdistEvent): void;
  stats(): SinkStats;
  close(deadlineMs: number): Promise<SinkCloseReport>;
}

/** The queue, counters and close logic; subclasses say how to send (`pump`) and how to stop (`teardown`). */
export abstract class QueuedSink implements Sink {
  protected readonly queue: BoundedQueue<PulpdistEvent>;
  protected counts = { accepted: 0, delivered: 0, retries: 0 };
  protected readonly dropped = noDrops();
  protected closing = false;
  protected up = false;
  protected lastError: string | undefined;
  private overflowing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly name: string,
    readonly kind: 'http' | 'amqp',
    queueSize: number,
    protected readonly log: Logger,
  ) {
    this.queue = new BoundedQueue(queueSize);
  }

  enqueue(event: PulpdistEvent): void {
    if (this.closing) {
      this.dropped.closed++;
      return;
    }
    this.counts.accepted++;
    if (this.queue.push(event) !== undefined) {
      this.dropped.overflow++;
      if (!this.overflowing) {
        this.overflowing = true;
        this.log.warn('event sink queue full: dropping the oldest events', { sink: this.name, queueSize: this.queue.limit });
      }
    } else if (this.overflowing && this.queue.length < this.queue.limit / 2) {
      this.overflowing = false;
    }
    this.pump();
  }

  /** Start sending whatever can be sent now; must return without waiting. */
  protected abstract pump(): void;

  /** Events sent and not yet settled. */
  protected abstract inFlight(): number;

  /** Stop all I/O now (the deadline passed, or the queue drained); returns events still in flight. */
  protected abstract teardown(): Promise<number>;

  /** Call when a delivery settled, so that `close` notices an empty sink. */
  protected settled(): void {
    if (this.queue.length === 0 && this.inFlight() === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Record a failure; logs only the change from working to failing (and the message when it changes). */
  protected failing(err: unknown): void {
    const text = redact(messageOf(err));
    if (this.lastError !== text) this.log.warn('event sink failing', { sink: this.name, kind: this.kind, error: text });
    this.lastError = text;
  }

  /** Record a success; logs the recovery once. */
  protected working(): void {
    if (this.lastError !== undefined) this.log.info('event sink delivering again', { sink: this.name, kind: this.kind });
    this.lastError = undefined;
  }

  stats(): SinkStats {
    const out: SinkStats = {
      sink: this.name,
      kind: this.kind,
      ...this.counts,
      dropped: { ...this.dropped },
      queued: this.queue.length,
      inFlight: this.inFlight(),
      up: this.up,
    };
    if (this.lastError !== undefined) out.lastError = this.lastError;
    return out;
  }

  async close(deadlineMs: number): Promise<SinkCloseReport> {
    this.closing = true;
    this.pump();
    if (this.queue.length > 0 || this.inFlight() > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        timer = setTimeout(resolve, Math.max(0, deadlineMs - Date.now()));
      });
      clearTimeout(timer);
    }
    const left = this.queue.clear() + (await this.teardown());
    this.dropped.closed += left;
    if (left) this.log.warn('event sink closed with undelivered events', { sink: this.name, abandoned: left });
    return { sink: this.name, delivered: this.counts.delivered, abandoned: left };
  }
}
