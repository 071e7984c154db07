/**
 * Why a pass did not converge, as data: each failure says what kind of problem it is and where, so
 * that a caller (the controller loop, `pulpdist apply`, a benchmark) can act on it, and carries the
 * human line it has always printed. Pure.
 */
import { PulpdistError } from '../core/errors.js';
import { entryDoing, type ObservedSite, type PlanEntry } from './plan-types.js';

/**
 * `entry-failed` / `entry-skipped`: a plan entry did not succeed (`entry` and `outcome` say which);
 * `site-unreachable`: a site could not be observed; `site-refused`: a site refused pulpdist's
 * credentials (or its client cannot be set up); `source-unreadable`: a mirror's source could not be
 * read; `deletes-blocked`: the mass-delete guard holds the pass's deletes (one failure for them all);
 * `name-conflict`: a placement's objects belong to another controller (`--controller-id`);
 * `spec-unreadable`: the controller could not read its spec repository and passed over the last
 * valid commit (the controller adds it, so that its failure log says it once, not every retry).
 */
export type PassFailureKind = 'entry-failed' | 'entry-skipped' | 'site-unreachable' | 'site-refused' | 'source-unreadable' | 'deletes-blocked' | 'name-conflict' | 'pin-unservable' | 'spec-unreadable';

/**
 * An error's text without the site name it starts with: Pulp client errors begin `hub: GET …` or
 * `site "hub": …`, and a line that names the site itself would read `hub: unreachable: hub: GET …`.
 */
export function withoutSite(site: string, error: string): string {
  for (const prefix of [`${site}: `, `site "${site}": `]) if (error.startsWith(prefix)) return error.slice(prefix.length);
  return error;
}

/** One problem of a pass. `toString()` is the human line, so `failures.join('; ')` reads as it always has. */
export class PassFailure {
  private constructor(
    readonly kind: PassFailureKind,
    /** Where: the site, when the problem is at one. */
    readonly site: string | null,
    /** Which mirror, when the problem is one mirror's. */
    readonly mirror: string | null,
    /** The plan entry that failed or was skipped. */
    readonly entry: PlanEntry | null,
    /** One human line, e.g. `hub: sync pulpdist.fedora failed: …`. */
    readonly message: string,
  ) {}

  /** A plan entry that failed or was skipped (a succeeded one is not a failure). */
  static ofEntry(e: PlanEntry, outcome: 'failed' | 'skipped', message: string | undefined): PassFailure {
    const line = `${e.site}: ${entryDoing(e)} ${e.name} ${outcome}: ${message ?? ''}`.trim();
    return new PassFailure(outcome === 'failed' ? 'entry-failed' : 'entry-skipped', e.site, e.mirror, e, line);
  }

  static ofSite(site: ObservedSite): PassFailure {
    const error = withoutSite(site.name, site.error ?? 'not observed');
    // The cause says it: `answered 401 (Pulp rejected the credentials); check …` or `… is not set`.
    if (site.refused) return new PassFailure('site-refused', site.name, null, null, `${site.name}: ${error}`);
    return new PassFailure('site-unreachable', site.name, null, null, `${site.name}: unreachable: ${error}`);
  }

  /** The mass-delete guard held the deletes: one failure, the plan's one sentence. */
  static ofBlockedDeletes(sentence: string): PassFailure {
    return new PassFailure('deletes-blocked', null, null, null, sentence);
  }

  /** Another controller owns the objects a placement needs: the plan's sentence for it. */
  static ofConflict(c: { site: string; mirror: string }, sentence: string): PassFailure {
    return new PassFailure('name-conflict', c.site, c.mirror, null, sentence);
  }

  /** A pin nothing can serve (plan-pin.ts): the placement is left as it is until the spec changes. */
  static ofPin(e: { site: string; mirror: string; message: string }): PassFailure {
    return new PassFailure('pin-unservable', e.site, e.mirror, null, `${e.site}: mirror ${e.mirror}: ${e.message}`);
  }

  /** The spec repository could not be read this pass (the line says what and where). */
  static ofSpecRepository(line: string): PassFailure {
    return new PassFailure('spec-unreadable', null, null, null, line);
  }

  static ofSource(mirror: string, error: string): PassFailure {
    return new PassFailure('source-unreadable', null, mirror, null, `${mirror}: source unreadable: ${error}`);
  }

  toString(): string {
    return this.message;
  }

  /** The shape logs and status print: the where and the line, not the whole plan entry. */
  toJSON(): { kind: PassFailureKind; site: string | null; mirror: string | null; message: string } {
    return { kind: this.kind, site: this.site, mirror: this.mirror, message: this.message };
  }
}

/**
 * A pass that completed without converging, as an error for whoever treats that as a failure (the
 * controller loop backs off on it). The message is the failures' lines joined by `; `. Retryable:
 * the next pass re-observes and tries again.
 */
export class PassFailedError extends PulpdistError {
  readonly failures: readonly PassFailure[];

  constructor(failures: readonly PassFailure[]) {
    super(failures.join('; '), { retryable: true });
    this.failures = failures;
  }
}
