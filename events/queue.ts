/**
 * The bounded queue in front of each sink. When it is full the oldest event goes: a receiver that
 * comes back wants the latest state of the network more than the start of an outage it missed.
 * Every drop is counted by reason, for the metrics layer and for `close`.
 */

/** Why events were dropped, counted per sink. */
export interface DropCounts {
  /** The queue was full. */
  overflow: number;
  /** Every attempt failed (5xx, 408, 429, network) or the broker released it too often. */
  failed: number;
  /** The receiver refused it for good (another 4xx; an AMQP `rejected` outcome). */
  rejected: number;
  /** Still queued or in flight when `close` reached its deadline, or emitted after close. */
  closed: number;
  /** The sink could not be set up (a missing secret); nothing is ever sent. */
  unconfigured: number;
}

export function noDrops(): DropCounts {
  return { overflow: 0, failed: 0, rejected: 0, closed: 0, unconfigured: 0 };
}

/** A FIFO of at most `limit` items: a ring buffer, so push and shift are O(1) at any size. */
export class BoundedQueue<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`queue size must be an integer ≥ 1, got ${limit}`);
    this.items = new Array<T | undefined>(limit);
  }

  get length(): number {
    return this.count;
  }

  /** Add at the tail; returns the oldest item dropped to make room, if any. */
  push(item: T): T | undefined {
    let dropped: T | undefined;
    if (this.count === this.limit) dropped = this.shift();
    this.items[(this.head + this.count) % this.limit] = item;
    this.count++;
    return dropped;
  }

  /**
   * Put items back at the head, in their order (deliveries that were in flight when a connection
   * dropped). Returns how many of the oldest had to go to stay within the limit.
   */
  unshiftAll(list: readonly T[]): number {
    let overflow = 0;
    for (let i = list.length - 1; i >= 0; i--) {
      if (this.count === this.limit) {
        // Full: what goes back would be older than everything queued, so it is the one dropped.
        overflow += i + 1;
        break;
      }
      this.head = (this.head - 1 + this.limit) % this.limit;
      this.items[this.head] = list[i];
      this.count++;
    }
    return overflow;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.limit;
    this.count--;
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** Empty the queue; returns how many items it held. */
  clear(): number {
    const n = this.count;
    while (this.count) this.shift();
    return n;
  }
}
