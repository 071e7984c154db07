/**
 * When one kind of file call goes to libuv's thread pool instead of running on the event loop
 * (blob-reads.ts: the content app's opens, and its reads; blobs.ts: a sync's creates).
 *
 * Such calls run synchronously while they are fast: sent to the pool, each costs the event loop
 * more in submission and wake-up than a synchronous call that the page cache or the dentry cache
 * answers. A slow call (its caller decides what counts) sends its kind to the pool for MIN_POOL_MS
 * once the slow calls of the last second or so have held the event loop up for the gate's budget;
 * if the first tries after a stay are slow again, the next stay is twice as long, up to
 * MAX_POOL_MS. So a disk cold for long holds the event loop up for about a budget's worth of calls
 * every MAX_POOL_MS, and a warm one never.
 *
 * A budget, not the first slow call, because cold pages mostly come a few at a time: a kernel
 * that reclaims memory little by little (another process's writes, proactive reclaim) leaves a
 * blob here and there to be read from the disk among thousands in memory. When any slow read sent
 * the reads to the pool, such blobs kept an origin's reads there for most of a run: in one
 * default `bench:rsync`, 85 calls that waited for the disk (3–50 ms each, a few a second) sent
 * 28,000 reads to the pool, nearly all in the initial ×4, where the origin used 9.2 s of CPU for
 * 9 GiB. Waiting for them on the event loop instead holds it up for about a second in 26; two runs
 * with that budget used 5.05 and 5.54 s (docs/benchmarks.md).
 */

/** A synchronous file call this slow waited for something other than memory. */
export const SLOW_CALL_MS = 2;
/** How long calls stay on the thread pool once slow ones used up the budget (any slow one, without a budget), and at most while they stay slow. */
export const MIN_POOL_MS = 20;
export const MAX_POOL_MS = 2000;
/** The time over which slow calls' waits add up against a budget: their sum decays by e in this long. */
export const WAIT_DECAY_MS = 1000;

export class Gate {
  /** Until this instant (the caller's clock, in ms), calls go to the thread pool. */
  private poolUntil = -Infinity;
  /** The length of the last stay on the pool. */
  private poolMs = MIN_POOL_MS;
  /** Milliseconds the recent slow calls waited, decayed to `waitedAt`. */
  private waited = 0;
  private waitedAt = -Infinity;

  /** `budgetMs`: how long slow calls may hold the event loop up within about WAIT_DECAY_MS; 0: not at all. */
  constructor(private readonly budgetMs = 0) {}

  synchronousAt(now: number): boolean {
    return now >= this.poolUntil;
  }

  /** A call that ended at `t1` was slow; it took `tookMs`. */
  slowAt(t1: number, tookMs = 0): void {
    this.waited = this.waited * Math.exp(-(t1 - this.waitedAt) / WAIT_DECAY_MS) + tookMs;
    this.waitedAt = t1;
    if (this.waited < this.budgetMs) return;
    // Started within one stay's length of the last one ending: still slow underneath.
    this.poolMs = t1 - tookMs - this.poolUntil < this.poolMs ? Math.min(this.poolMs * 2, MAX_POOL_MS) : MIN_POOL_MS;
    this.poolUntil = t1 + this.poolMs;
  }
}
