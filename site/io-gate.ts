/**
 * When one kind of file call goes to libuv's thread pool instead of running on the event loop
 * (blob-reads.ts: the content app's opens, and its reads).
 *
 * Such calls run synchronously while they are fast: sent to the pool, each costs the event loop
 * more in submission and wake-up than a synchronous call that the page cache or the dentry cache
 * answers. One that took SLOW_CALL_MS or more (its caller decides whether it counts) sends its kind
 * to the pool for MIN_POOL_MS; if the first tries after that are slow again, the next stay is twice
 * as long, up to MAX_POOL_MS. So a disk cold for long holds the event loop up for one call every
 * MAX_POOL_MS (after 2.5 s of shorter stays, slow each time), and a warm one never.
 *
 * The first stay is short because cold pages mostly come a few at a time: a kernel that reclaims
 * memory little by little (proactive reclaim such as DAMON's, or another process's writes) leaves
 * a blob here and there to be read from the disk among thousands in memory. With a first stay of
 * 250 ms, each such blob sent a quarter of a second or more of an origin's calls to the pool: 13
 * of them in one initial ×4 of `bench:rsync` cost its origin 8.3 s of CPU where 6.2 s is usual.
 */

/** A synchronous file call this slow waited for something other than memory. */
export const SLOW_CALL_MS = 2;
/** How long calls stay on the thread pool after a lone slow one, and after slow ones in a row at most. */
export const MIN_POOL_MS = 20;
export const MAX_POOL_MS = 2000;

export class Gate {
  /** Until this instant (the caller's clock, in ms), calls go to the thread pool. */
  private poolUntil = -Infinity;
  /** The length of the last stay on the pool. */
  private poolMs = MIN_POOL_MS;

  synchronousAt(now: number): boolean {
    return now >= this.poolUntil;
  }

  /** A call that ended at `t1` was slow. */
  slowAt(t1: number): void {
    // Slow again within one stay's length of the last one ending: still slow underneath.
    this.poolMs = t1 - this.poolUntil < this.poolMs ? Math.min(this.poolMs * 2, MAX_POOL_MS) : MIN_POOL_MS;
    this.poolUntil = t1 + this.poolMs;
  }
}
