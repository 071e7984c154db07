/**
 * While a pass runs, its sync events refresh the status document (page, JSON, metrics) at most
 * once per `gapMs`, so that a pass with hundreds of syncs polled every few seconds renders the
 * document a few times a second, not once per poll. A sync's poll reaches the document within
 * `gapMs` of its answer; with polls at most 2 s apart (pulp/client.ts taskPollMaxMs), a running
 * sync's figures are never older than about 2.5 s.
 */
import type { PassEvent } from '../reconcilers/pass-types.js';
import type { Clock, Timer } from './clock.js';
import type { LoopState } from './state.js';

/** Renders at most this often while syncs report. */
export const LIVE_GAP_MS = 500;

export interface LiveRefresh {
  /** The pass's event sink (reconcilers/pass-types.ts PassDeps.onEvent). */
  onEvent(e: PassEvent): void;
  /** Drop a pending render (the pass ended: the outcome handler renders the final document). */
  cancel(): void;
}

export function liveRefresh(o: { state: LoopState; clock: Clock; render: () => void; gapMs?: number }): LiveRefresh {
  const gapMs = o.gapMs ?? LIVE_GAP_MS;
  let timer: Timer | null = null;
  let lastAt = -Infinity;
  const fire = (): void => {
    timer = null;
    lastAt = o.clock.now();
    o.render();
  };
  return {
    onEvent(e) {
      if (!o.state.live.record(e, o.clock.now()) || timer) return;
      timer = o.clock.setTimeout(fire, lastAt + gapMs - o.clock.now(), { unref: true });
    },
    cancel() {
      timer?.clear();
      timer = null;
    },
  };
}
