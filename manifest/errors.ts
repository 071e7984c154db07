/** The errors a scan can end with. Each names every path concerned, relative to the tree root. */
import { PulpdistError } from '../core/errors.js';

/** Shown in full in messages; the rest is summarised as "and N more" (all are in `paths`). */
const LISTED = 20;

function listPaths(items: readonly { relativePath: string; code: string }[]): string {
  const shown = items.slice(0, LISTED).map((i) => `${JSON.stringify(i.relativePath)} (${i.code})`);
  return shown.join(', ') + (items.length > LISTED ? `, and ${items.length - LISTED} more` : '');
}

/** A scanTree option is invalid (a bad worker count, an empty exclude pattern). */
export class ScanOptionError extends PulpdistError {
  constructor(readonly option: string, message: string) {
    super(message);
  }
}

/**
 * The tree root is missing or not a directory. The message states the fact only: what to do
 * differs by reader (`pulpdist manifest` adds its own advice; a mirror's status must not carry it).
 */
export class TreeNotFoundError extends PulpdistError {
  constructor(readonly root: string, readonly reason: string) {
    super(`${root}: ${reason}`);
  }
}

/** Files or directories of the tree could not be read: no manifest is written. */
export class UnreadableFilesError extends PulpdistError {
  constructor(readonly root: string, readonly paths: { relativePath: string; code: string }[]) {
    super(
      `${paths.length} path${paths.length === 1 ? '' : 's'} under ${root} could not be read: ${listPaths(paths)}; ` +
        'fix their permissions (or exclude them with --exclude) and run again; no manifest was written',
    );
  }
}

/** Files kept changing while they were hashed: their digest cannot be trusted. */
export class TreeChangingError extends PulpdistError {
  constructor(readonly root: string, readonly paths: string[]) {
    super(
      `${paths.length} file${paths.length === 1 ? '' : 's'} under ${root} changed while being hashed, ` +
        `again and again: ${listPaths(paths.map((p) => ({ relativePath: p, code: 'changed' })))}; ` +
        'run again once the tree is quiet; no manifest was written',
      { retryable: true },
    );
  }
}

/** Why a tree is not quiet enough to publish. */
export type TreeBusyReason = 'changed' | 'settling' | 'marker';

/**
 * The tree is being written (scanTree with `requireQuiet`, `settleMs` or `inProgressMarker`):
 * its manifest is not published now; a later scan will try again. `paths` names what showed it.
 */
export class TreeBusyError extends PulpdistError {
  constructor(
    readonly root: string,
    readonly reason: TreeBusyReason,
    readonly paths: string[],
    /** When a scan can next succeed, for `settling` (ms from now); undefined = at the next scan. */
    readonly retryAfterMs?: number,
  ) {
    const shown = listPaths(paths.map((p) => ({ relativePath: p, code: reason === 'marker' ? 'marker' : 'changed' })));
    const what =
      reason === 'marker'
        ? `an update is in progress (${shown})`
        : reason === 'settling'
          ? `it changed less than the settle time ago (newest: ${shown}; quiet in ${Math.ceil((retryAfterMs ?? 0) / 1000)} s)`
          : `it changed while it was being scanned (${shown})`;
    super(`source tree changing: ${root}: ${what}; not published, scanned again later`, { retryable: true });
  }
}

/** Under `symlinks: strict`, links that could not be followed: no manifest is written. */
export class SymlinkError extends PulpdistError {
  constructor(readonly root: string, readonly links: { relativePath: string; target: string; reason: string }[]) {
    super(
      `${links.length} symlink${links.length === 1 ? '' : 's'} under ${root} cannot be followed: ` +
        `${listPaths(links.map((l) => ({ relativePath: l.relativePath, code: `${l.reason} -> ${JSON.stringify(l.target)}` })))}; ` +
        'fix or remove them, exclude them, or set symlinks: follow to skip them with a warning; no manifest was written',
    );
  }
}

/** A manifest file could not be written (missing directory, permissions, full disk). */
export class ManifestWriteError extends PulpdistError {
  constructor(readonly file: string, readonly errno: string, options: { cause?: unknown } = {}) {
    super(`cannot write the manifest ${file} (${errno}); check that its directory exists and is writable`, options);
  }
}
