/**
 * What the loop knows between cycles and shows in its status: the commit last applied, the last
 * pass and its result, counters for the backoff and readiness, and the pass running now. The
 * cycle and the outcome handler change it; `publish` renders the StatusDocument the endpoint
 * serves and the status commit records.
 */
import type { StatusDocument } from '../core/status.js';
import type { PassResult } from '../reconcilers/pass-types.js';
import { LiveProgress } from '../status/live.js';
import { buildStatusDocument, type LastPassSnapshot } from '../status/model.js';
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
  private current: StatusDocument;

  constructor(private readonly o: { version: string; startedAt: Date; specs: SpecView }) {
    this.current = this.render();
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
    const { specs } = this.o;
    const doc = buildStatusDocument({
      version: this.o.version,
      startedAt: this.o.startedAt,
      observedCommit: this.observedCommit,
      specCommit: specs.specCommit,
      problems: specs.problems,
      lastPass: this.lastPass,
      specs: specs.valid?.specs ?? null,
      pass: this.pass,
    });
    return this.live.overlay(doc);
  }
}
