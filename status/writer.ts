/**
 * Status commits on the status branch of the spec repository (default `pulpdist/status`, an
 * orphan branch created on first write). A commit is made only when something other than a
 * timestamp changed; a rejected push (someone else moved the branch) is re-read, re-applied on
 * the new head and retried, a bounded number of times.
 */
import { GitSourceError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { StatusDocument } from '../core/status.js';
import type { GitSource } from '../gitsource/types.js';
import { readTextFiles, replaceTopEntry, writeFilesTree, writeStatusCommit } from '../gitsource/tree.js';
import { STATUS_DIR, renderStatusFiles, stateTransitions, statusChanged } from './files.js';
import { stateCounts } from './model.js';

export interface StatusWriteResult {
  /** The new commit, or null when nothing but timestamps changed. */
  commit: string | null;
  /** Pushes rejected before one went through. */
  retries: number;
}

export interface StatusWriterOptions {
  /** Attempts when the branch keeps moving under us. @default 5 */
  maxAttempts?: number;
  log: Logger;
  now: () => Date;
}

/** Writes status commits through a GitSource. */
export interface StatusWriter {
  write(doc: StatusDocument, opts: { signal: AbortSignal }): Promise<StatusWriteResult>;
}

export function createStatusWriter(source: GitSource, options: StatusWriterOptions): StatusWriter {
  const { maxAttempts = 5, log, now } = options;
  // The files of the last head we read or wrote: with a thousand mirrors, re-reading every blob
  // after every pass would cost more than the comparison itself.
  let known: { head: string; files: Map<string, string> } | null = null;
  return {
    async write(doc, { signal }) {
      const files = renderStatusFiles(doc);
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        signal.throwIfAborted();
        const head = await source.statusHead({ signal });
        const previous = !head ? new Map<string, string>() : known?.head === head ? known.files : await readTextFiles(source.repo, head, STATUS_DIR, { signal });
        if (head) known = { head, files: previous };
        if (head && !statusChanged(previous, files)) return { commit: null, retries: attempt - 1 };
        const subtree = await writeFilesTree(source.repo, files, { signal });
        const tree = await replaceTopEntry(source.repo, head, STATUS_DIR, subtree);
        const commit = await writeStatusCommit(source.repo, tree, head, commitMessage(doc, stateTransitions(previous, files)), now());
        const outcome = await source.publishStatus(commit, head, { signal });
        if (outcome === 'ok') {
          known = { head: commit, files };
          log.debug('status committed', { commit, retries: attempt - 1 });
          return { commit, retries: attempt - 1 };
        }
        log.info('status branch moved under us; re-applying on the new head', { attempt });
      }
      throw new GitSourceError(`the status branch of ${source.description} kept moving: ${maxAttempts} pushes rejected; will retry after the next pass`);
    },
  };
}

/** `status: 4 Synced, 1 Failed · spec 1a2b3c4d5e6f [skip ci]` plus the state changes. */
export function commitMessage(doc: StatusDocument, transitions: string[]): string {
  const counts = Object.entries(stateCounts(doc))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const spec = doc.controller.observedCommit ? ` · spec ${doc.controller.observedCommit.slice(0, 12)}` : '';
  const errors = doc.controller.specErrors.length ? ` · ${doc.controller.specErrors.length} spec errors` : '';
  const subject = `status: ${counts || 'no mirrors'}${spec}${errors} [skip ci]`;
  const body = transitions.length > 50 ? [...transitions.slice(0, 50), `… and ${transitions.length - 50} more`] : transitions;
  return body.length ? `${subject}\n\n${body.join('\n')}\n` : `${subject}\n`;
}
