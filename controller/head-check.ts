/**
 * "Has the spec branch moved?", asked by the webhook, the watch during a pass, and the poll during
 * a pass. It fetches (remote) and validates a new head at once. Between cycles a moved branch
 * starts one; during a cycle it queues one more, and a valid new commit also puts a deadline on
 * the running pass (`preemptAfterMs` from its start). A webhook only asks this question: GitLab
 * also announces pushes to other branches, our own status commits included, and those must not
 * start a pass.
 */
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { GitSource } from '../gitsource/types.js';
import type { Clock } from './clock.js';
import type { SpecTracker } from './spec-tracker.js';
import type { LoopState } from './state.js';
import type { TriggerQueue } from './trigger-queue.js';

export interface HeadCheckDeps {
  source: GitSource;
  specs: SpecTracker;
  state: LoopState;
  queue: TriggerQueue;
  clock: Clock;
  shutdown: AbortSignal;
  /** A pass may hold a newer valid commit back this long (from its start). */
  preemptAfterMs: number;
  log: Logger;
}

/** Checks never overlap: one asked during a check runs once more after it. */
export function createHeadCheck(d: HeadCheckDeps): () => Promise<void> {
  let checking = false;
  let recheck = false;
  return async function checkHead(): Promise<void> {
    if (checking) {
      recheck = true;
      return;
    }
    checking = true;
    try {
      do {
        recheck = false;
        await checkOnce(d);
      } while (recheck && !d.shutdown.aborted);
    } catch (err) {
      d.log.debug('checking the spec branch failed; the next pass will retry', { error: messageOf(err) });
    } finally {
      checking = false;
    }
  };
}

async function checkOnce(d: HeadCheckDeps): Promise<void> {
  const signal = AbortSignal.any([d.shutdown, d.clock.timeout(30_000)]);
  await d.specs.consider(await d.source.refresh({ signal }), signal);
  // Nothing new since the latest cycle read the branch (a push elsewhere, our status commit).
  if (d.specs.specCommit === d.state.cycleSeen) return;
  // Between cycles this starts one (after the debounce); during one, it runs once more after it.
  const wasRunning = d.queue.running;
  d.queue.add('commit');
  if (!wasRunning) return;
  const newer = d.specs.valid?.commit;
  const pass = d.state.running;
  if (pass && newer && newer !== pass.commit) pass.supersede(newer, d.preemptAfterMs);
}
