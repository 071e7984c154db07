/**
 * What the loop knows between cycles and shows in its status: the commit last applied, the last
 * pass and its result, counters for the backoff and readiness, and the pass running now. The
 * cycle and the outcome handler change it; `publish` renders the StatusDocument the endpoint
 * serves and the status commit records.
 */
import type { StatusDocument } from '../core/status.js';
import type { PassResult } from '../reconcilers/pass-types.js';
import { LastSuccess } from '../status/last-success.js';
import { LiveProgress } from '../status/live.js';
import { buildStatusDocument, type ControllerSnapshot, type LastPassSnapshot } from '../status/model.js';
import type { RunningPass } from './running-pass.js';
import type { SpecTracker } from './spec-tracker.js';

/** What the state reads of the spec tracker (plain data in the unit tests). */
export type SpecView = Pick<SpecTracker, 'specCommit' | 'problems' | 'valid'>;

export class LoopState {
  /** The commit whose pass last returned. */
  observedCommit: string | null = null;
  /** That pass's result. */
  pass: PassResult | null = null;
  lastPass: LastPassSnapshot | null = null;
  /** Consecutive failed cycles (a superseded pass is not a failure). */
  failures = 0;
  /** Cycles completed. */
  cycles = 0;
  /** The Git source answered the last time a cycle asked. */
  gitOk = false;
  /** The head the latest cycle read: a head check that finds the same one has nothing to start. */
  cycleSeen: string | null = null;
  /** The pass running now (a head check may supersede it). */
  running: RunningPass | null = null;
  /** The syncs of the running pass, laid over the document while it runs. */
  readonly live = new LiveProgress();
  /** The last known status from the status branch at start (controller/history.ts); shown until a pass reports. */
  known: ControllerSnapshot['known'] = null;
  /** Propagation time of each placement (the loop's PropagationTracker). */
  propagation: ControllerSnapshot['propagation'] = undefined;
  /** Each placement's last successful sync, over every pass of this process and the restored status. */
  private readonly successes = new LastSuccess();
  /** The pass `successes` last took in. */
  private successesOf: PassResult | null = null;
  private current: StatusDocument;
  /** The last base document and what it was built from. */
  private built: { inputs: readonly unknown[]; doc: StatusDocument } | null = null;

  constructor(private readonly o: { version: string; startedAt: Date; specs: SpecView }) {
    this.current = this.render();
  }

  /** The last known status from the status branch: shown until a pass reports, and its last successes kept. */
  restore(known: NonNullable<ControllerSnapshot['known']>): void {
    this.known = known;
    this.successes.observe(known.mirrors);
  }

  /** The document as last published. */
  get doc(): StatusDocument {
    return this.current;
  }

  /** Render the document from the current state. */
  publish(): StatusDocument {
    this.current = this.render();
    return this.current;
  }

  private render(): StatusDocument {
    return this.live.overlay(this.base());
  }

  /**
   * The document without the running syncs. While a pass runs nothing it is built from changes,
   * so the live refresh (twice a second at most) lays its overlay on the same one instead of
   * building thousands of cells again.
   */
  private base(): StatusDocument {
    const { specs } = this.o;
    const inputs = [this.observedCommit, this.pass, this.lastPass, specs.valid, specs.specCommit, specs.problems, this.known, this.propagation];
    if (this.built && inputs.every((x, i) => x === this.built!.inputs[i])) return this.built.doc;
    if (this.pass && this.pass !== this.successesOf) {
      this.successes.observe(this.pass.mirrors);
      this.successesOf = this.pass;
    }
    const doc = buildStatusDocument({
      version: this.o.version,
      startedAt: this.o.startedAt,
      observedCommit: this.observedCommit,
      specCommit: specs.specCommit,
      problems: specs.problems,
      lastPass: this.lastPass,
      specs: specs.valid?.specs ?? null,
      pass: this.pass,
      known: this.known,
      lastSuccess: (mirror, site) => this.successes.get(mirror, site),
      ...(this.propagation ? { propagation: this.propagation } : {}),
    });
    this.built = { inputs, doc };
    return doc;
  }
}
