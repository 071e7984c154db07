/**
 * Following a Pulp task to its end. A 202 answer names a task; it may already be `completed` at
 * the first poll (immediate tasks run before the 202 is sent) or wait behind another task, so we
 * always poll until a final state or a deadline, each poll a quarter of the time waited so far
 * after the last one (`POLL_SHARE`), between `pollMinMs` and `pollMaxMs`. A site that holds polls
 * (core/task-hold.ts: pulpdist's own) is asked again as soon as it answers instead.
 */
import type { Logger } from '../core/logger.js';
import { TASK_HOLD_MS } from '../core/task-hold.js';
import { pollDelayMs, sleep } from './backoff.js';
import { PulpNoWorkerError, PulpTaskError, PulpTaskTimeoutError } from './errors.js';
import type { Href, Task, TaskCallOptions, TaskState } from './types.js';

/**
 * The next poll comes this share of the time waited so far after the last one: a task is seen
 * finished at most 25% of its duration late, for about 3 polls per doubling of the wait instead of
 * 1 (a 2 s sync: 15 polls instead of 6, seen at ≤ 2.5 s instead of ≈ 3.2 s).
 */
const POLL_SHARE = 0.25;

const FINAL: ReadonlySet<TaskState> = new Set<TaskState>(['completed', 'failed', 'canceled', 'skipped']);

/** True for a state a task never leaves. */
export function isFinal(state: TaskState): boolean {
  return FINAL.has(state);
}

/** The task itself, or the typed error a failed or canceled task becomes. */
export function settle(task: Task, site: string): Task {
  if (task.state === 'failed' || task.state === 'canceled') {
    const description = task.error?.description ?? task.error?.reason ?? null;
    throw new PulpTaskError({ site, task: task.pulp_href, state: task.state, description, taskName: task.name ?? '' });
  }
  return task;
}

export interface TaskFollowerDeps {
  site: string;
  log: Logger;
  /** GET the task; with `holdMs`, asking the site to hold the answer while it is unfinished (core/task-hold.ts). */
  getTask(href: Href, signal?: AbortSignal, holdMs?: number): Promise<Task>;
  /** True once the site is known to hold task polls: the follower then polls again at once. */
  holdsPolls?: () => boolean;
  /** PATCH the task to `canceled`; answers the task as it then is (finished ones unchanged). */
  cancelTask(href: Href, signal?: AbortSignal): Promise<Task>;
  /** @default 50 */
  pollMinMs: number;
  /**
   * Wait before the first poll. 0 for calls Pulp runs as immediate tasks (updates, deletes: done
   * before the 202 when their locks are free, so the first poll finds them completed); for work
   * Pulp hands to a worker (syncs, distribution and publication creates) a poll at once only ever
   * sees `waiting` or `running`, and costs the server and us a request each. @default 0
   */
  firstPollMs?: number;
  pollMaxMs: number;
  /** Default for `TaskCallOptions.timeoutMs`. */
  timeoutMs: number;
  /** Time to allow the cancel request that follows an abort (the caller's signal is spent by then). */
  cancelTimeoutMs: number;
  /**
   * A task `waiting` with no worker for `afterMs` makes the follower ask `onlineWorkers()` (status/)
   * again every `afterMs`; with none online it cancels the task and throws PulpNoWorkerError, so a
   * worker that died after the pass looked (status/ lists a SIGKILLed worker for its 30 s TTL,
   * extra4/128-129) does not hold the pass until `timeoutMs`, an hour. Absent: never asked.
   */
  noWorker?: { afterMs: number; onlineWorkers(signal?: AbortSignal): Promise<number> };
  /** @default performance.now */
  now?: () => number;
}

/**
 * Poll `href` until it is final and return it; throws PulpTaskError if it failed or was canceled.
 * Past `timeoutMs` it asks Pulp to cancel the task and throws a retryable PulpTaskTimeoutError.
 * When `signal` aborts, polling stops at once, the task is asked to cancel (best effort) if it was
 * still unfinished, and the signal's reason is thrown: pulpdist does not leave work running on a
 * server that nobody is waiting for.
 */
export async function followTask(href: Href, deps: TaskFollowerDeps, opts: TaskCallOptions = {}): Promise<Task> {
  const { site, log, now = () => performance.now() } = deps;
  const { signal, onProgress, timeoutMs = deps.timeoutMs } = opts;
  const started = now();
  const deadline = started + timeoutMs;
  let last: Task | null = null;
  const unattended = deps.noWorker ? new Unattended(deps.noWorker, now) : null;
  try {
    const holding = () => deps.holdsPolls?.() ?? false;
    if (deps.firstPollMs && !holding()) await sleep(Math.min(deps.firstPollMs, Math.max(0, deadline - now())), signal);
    for (;;) {
      const asked = now();
      const holdMs = deps.holdsPolls ? Math.max(0, Math.min(TASK_HOLD_MS, Math.floor(deadline - asked))) : 0;
      const task = await deps.getTask(href, signal, holdMs);
      last = task;
      onProgress?.(task);
      if (isFinal(task.state)) {
        log.debug('pulp task finished', { site, task: href, state: task.state });
        return settle(task, site);
      }
      const waitedMs = await unattended?.noWorkerFor(task, signal);
      if (waitedMs !== undefined) {
        const after = await cancelAtDeadline(href, deps, signal);
        if (after && isFinal(after.state)) return settle(after, site);
        throw new PulpNoWorkerError({ site, task: href, waitedMs, taskName: task.name ?? '' });
      }
      const left = deadline - now();
      if (left <= 0) {
        const after = await cancelAtDeadline(href, deps, signal);
        // It may have finished between our last poll and the cancel (Pulp answers 409 with it).
        if (after && isFinal(after.state)) return settle(after, site);
        throw new PulpTaskTimeoutError({ site, task: href, state: task.state, timeoutMs, taskName: task.name ?? '' });
      }
      // A site that held this poll (most of the time asked: an answer that comes back at once must
      // not turn this loop into a busy one) is asked again at once; any other one on the schedule.
      if (holding() && now() - asked >= holdMs / 2) continue;
      await sleep(Math.min(pollDelayMs(now() - started, { minMs: deps.pollMinMs, maxMs: deps.pollMaxMs, share: POLL_SHARE }), left), signal);
    }
  } catch (err) {
    if (signal?.aborted && (last === null || !isFinal(last.state))) {
      await cancelAfterAbort(href, deps);
      throw signal.reason;
    }
    throw err;
  }
}

/** Watches one task for a wait no worker will end (TaskFollowerDeps.noWorker). */
class Unattended {
  #since: number | null = null;
  #asked = -Infinity;

  constructor(private readonly o: NonNullable<TaskFollowerDeps['noWorker']>, private readonly now: () => number) {}

  /** How long the task has waited, once status/ says no worker is online; undefined otherwise. */
  async noWorkerFor(task: Task, signal: AbortSignal | undefined): Promise<number | undefined> {
    if (task.state !== 'waiting' || task.worker) {
      this.#since = null;
      return undefined;
    }
    const t = this.now();
    this.#since ??= t;
    if (t - this.#since < this.o.afterMs || t - this.#asked < this.o.afterMs) return undefined;
    this.#asked = t;
    try {
      return (await this.o.onlineWorkers(signal)) === 0 ? t - this.#since : undefined;
    } catch (err) {
      // An unanswered status/ proves nothing: the task goes on being followed.
      if (signal?.aborted) throw err;
      return undefined;
    }
  }
}

/** Cancel a task that overran; a failed cancel must not hide the timeout, so it is only logged. */
async function cancelAtDeadline(href: Href, deps: TaskFollowerDeps, signal: AbortSignal | undefined): Promise<Task | null> {
  try {
    return await deps.cancelTask(href, signal);
  } catch (err) {
    if (signal?.aborted) throw err;
    deps.log.warn('could not cancel overdue pulp task', { site: deps.site, task: href, error: (err as Error).message });
    return null;
  }
}

async function cancelAfterAbort(href: Href, deps: TaskFollowerDeps): Promise<void> {
  try {
    const task = await deps.cancelTask(href, AbortSignal.timeout(deps.cancelTimeoutMs));
    deps.log.info('canceled pulp task after abort', { site: deps.site, task: href, state: task.state });
  } catch (err) {
    // Best effort: the abort is what the caller must see; the task stays visible in Pulp.
    deps.log.warn('could not cancel pulp task after abort', { site: deps.site, task: href, error: (err as Error).message });
  }
}
