/**
 * Which spec commit is in force. Every new head of the spec branch is read and validated once;
 * a valid one takes over, an invalid one is remembered with its problems (for the status) while
 * the last valid commit stays in force. Reads are serialized: the loop's cycle and a head check
 * during a pass may both arrive with the same new commit.
 */
import { SpecError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { LoadResult, Problem, SpecSet } from '../spec/types.js';
import type { GitSource } from '../gitsource/types.js';
import type { TreeFile } from '../gitsource/tree.js';

export class SpecTracker {
  /** The newest head seen (valid or not). */
  specCommit: string | null = null;
  /** Problems of `specCommit`. */
  problems: readonly Problem[] = [];
  /** The commit in force and its specs. */
  valid: { commit: string; specs: SpecSet } | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: GitSource,
    private readonly loadSpecs: (files: TreeFile[]) => LoadResult,
    private readonly log: Logger,
    /** Called after `specCommit` moved. */
    private readonly onChange: () => void,
  ) {}

  /** Read and validate `commit` unless it is the one seen last. */
  consider(commit: string, signal: AbortSignal): Promise<void> {
    const next = this.chain.then(() => this.considerNow(commit, signal));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async considerNow(commit: string, signal: AbortSignal): Promise<void> {
    if (commit === this.specCommit) return;
    let result: LoadResult;
    try {
      result = this.loadSpecs(await this.source.readSpecFiles(commit, { signal }));
    } catch (err) {
      // A missing --path is the commit's problem, not the repository's: shown like any other.
      if (!(err instanceof SpecError)) throw err;
      const problem: Problem = { file: err.file, line: err.line, column: err.column, severity: 'error', message: err.message.replace(/^[^:]*:\d+:\d+: /, ''), rule: 'spec-path' };
      result = { specs: { sites: [], mirrors: [] }, problems: [problem], files: 0, documents: 0 };
    }
    this.specCommit = commit;
    this.problems = result.problems;
    const errors = result.problems.filter((p) => p.severity === 'error');
    const [first] = errors;
    if (first) {
      this.log.warn('spec commit is invalid and is not applied; the last valid commit stays in force', {
        commit,
        errors: errors.length,
        first: `${first.file}:${first.line}:${first.column}: ${first.message}`,
        inForce: this.valid?.commit ?? null,
      });
    } else {
      this.valid = { commit, specs: result.specs };
      this.log.info('new spec commit', { commit, mirrors: result.specs.mirrors.length, sites: result.specs.sites.length });
    }
    this.onChange();
  }
}
