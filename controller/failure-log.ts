/**
 * The controller's memory of failures, so that its log speaks without shouting: each NEW failure
 * is logged once (error when a person must act, warn otherwise) with site, mirror and cause; a
 * failure that persists is not repeated but counted in one line per pass; a failure that is gone
 * is logged once at info as recovered. Before this, a wrong password gave no log line at all
 * (only `converged=false`), and a held mass delete gave 18 identical WARN lines every pass.
 */
import type { LogLevel, Logger } from '../core/logger.js';
import type { PassFailure, PassFailureKind } from '../reconcilers/failures.js';

/** Error: a person must act (credentials, a source, a task Pulp failed). Warn: it may clear itself or waits on another. */
const LEVEL: Record<PassFailureKind, LogLevel> = {
  'site-refused': 'error',
  'source-unreadable': 'error',
  'entry-failed': 'error',
  'deletes-blocked': 'warn',
  'name-conflict': 'warn',
  'pin-unservable': 'error',
  'site-unreachable': 'warn',
  'entry-skipped': 'warn',
  'spec-unreadable': 'error',
};

interface OpenFailure {
  failure: PassFailure;
  /** The pass it was first seen in. */
  since: number;
  /** Epoch ms it was first seen. */
  sinceMs: number;
}

/** What one pass changed, for tests and the caller. */
export interface FailureReport {
  added: PassFailure[];
  persisting: number;
  recovered: PassFailure[];
}

/**
 * Identity of a failure across passes: what failed and where, not the message (a task href or a
 * byte count in it changes from pass to pass while the failure is the same).
 */
export function failureKey(f: PassFailure): string {
  const e = f.entry;
  return JSON.stringify([f.kind, f.site, f.mirror, e ? `${e.kind}:${e.action}:${e.name}` : null]);
}

export class FailureLog {
  readonly #open = new Map<string, OpenFailure>();

  constructor(private readonly log: Logger) {}

  /** The failures open now (first seen, oldest first). */
  get open(): readonly PassFailure[] {
    return [...this.#open.values()].map((o) => o.failure);
  }

  /**
   * Take the failures of a pass that completed (`pass` its number, `now` epoch ms) and log what
   * changed. A pass that did not complete says nothing about failures: do not call this for it.
   */
  record(failures: readonly PassFailure[], pass: number, now: number): FailureReport {
    const seen = new Map<string, PassFailure>();
    for (const f of failures) if (!seen.has(failureKey(f))) seen.set(failureKey(f), f);
    const added: PassFailure[] = [];
    const recovered: PassFailure[] = [];
    for (const [k, o] of this.#open) {
      if (seen.has(k)) continue;
      this.#open.delete(k);
      recovered.push(o.failure);
      this.log.info('recovered', { ...where(o.failure), was: o.failure.message, failingSince: new Date(o.sinceMs).toISOString(), passes: pass - o.since });
    }
    let persisting = 0;
    for (const [k, f] of seen) {
      const o = this.#open.get(k);
      if (o) {
        persisting++;
        o.failure = f;
        continue;
      }
      this.#open.set(k, { failure: f, since: pass, sinceMs: now });
      added.push(f);
      this.log[LEVEL[f.kind]](f.message, { ...where(f), kind: f.kind });
    }
    if (persisting > 0) {
      // A count and an age, not the messages: those were logged when new, and repeating them is
      // what made `grep 401` useless.
      const oldest = Math.min(...[...this.#open.values()].filter((o) => o.since < pass).map((o) => o.sinceMs));
      this.log.warn(`${persisting} ${persisting === 1 ? 'failure persists' : 'failures persist'}`, { pass, persisting, oldestSince: new Date(oldest).toISOString() });
    }
    return { added, persisting, recovered };
  }
}

function where(f: PassFailure): { site?: string; mirror?: string } {
  return { ...(f.site ? { site: f.site } : {}), ...(f.mirror ? { mirror: f.mirror } : {}) };
}
