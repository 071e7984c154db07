/**
 * When to first poll a task Pulp handed to a worker. A poll sent before the task can have finished
 * costs the server and us a request and finds it running; one sent long after it finished holds the
 * caller (and its sync slot) for nothing. The client remembers how long recent tasks of the same
 * call took on the server (created → finished, the server's own clock) and first polls after the
 * lower quartile of those, within [min, 4 × min]: small tasks are then mostly found finished at the
 * first poll, and one slow sync cannot delay the polls of the quick ones by more than 4 × min.
 */

/** How many recent durations are kept per call. */
const SAMPLES = 32;
/** The first poll waits at most this many times `minMs`. */
const CAP_FACTOR = 4;

export class TaskTiming {
  private readonly recent = new Map<string, number[]>();

  /** Record a finished task of call `key` (timestamps as Pulp gives them); ignores unparsable ones. */
  record(key: string, task: { pulp_created?: string; finished_at?: string | null }): void {
    const ms = Date.parse(task.finished_at ?? '') - Date.parse(task.pulp_created ?? '');
    if (!Number.isFinite(ms) || ms < 0) return;
    let xs = this.recent.get(key);
    if (!xs) this.recent.set(key, (xs = []));
    xs.push(ms);
    if (xs.length > SAMPLES) xs.shift();
  }

  /** Delay before the first poll of a new task of call `key`: `minMs` until tasks were seen. */
  firstPollMs(key: string, minMs: number): number {
    const xs = this.recent.get(key);
    if (!xs || xs.length === 0) return minMs;
    const sorted = [...xs].sort((a, b) => a - b);
    const q1 = sorted[Math.floor((sorted.length - 1) / 4)];
    return Math.round(Math.min(CAP_FACTOR * minMs, Math.max(minMs, q1)));
  }
}
