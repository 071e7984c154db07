/**
 * Blob-read edges (site/blob-reads.ts `ReadEdges`) that make the real file calls and play a slow
 * disk: a slow disk cannot be made on demand, so the clock and the block-input count are what a
 * test sets. A call that advances the clock by SLOW_CALL_MS took that long, and one that adds to
 * the count read from the disk.
 */
import { nodeReadEdges, type ReadEdges } from '../site/blob-reads.js';

export interface PlayedDisk {
  ms: number;
  /** Milliseconds each synchronous call of the kinds in `slow` takes (others take none). */
  disk: number;
  slow: ReadonlySet<'open' | 'read'>;
  /** Whether those calls (when they take any time) read from the disk (else the time is a busy machine's). */
  input: boolean;
  blocks: number;
}

export const BOTH_KINDS: ReadonlySet<'open' | 'read'> = new Set(['open', 'read'] as const);

/** A disk at time 0 whose calls take no time until `disk` says otherwise; both kinds slow then, reading from the disk. */
export function playedDisk(over: Partial<PlayedDisk> = {}): PlayedDisk {
  return { ms: 0, disk: 0, slow: BOTH_KINDS, input: true, blocks: 0, ...over };
}

/** Real file calls, each noted in `calls` by the way it went (`open:sync`, `read:pool`…), with the clock and block count of `clock`. */
export function playedReadEdges(clock: PlayedDisk): { e: ReadEdges; calls: string[] } {
  const calls: string[] = [];
  const took = (kind: 'open' | 'read') => {
    if (!clock.slow.has(kind) || clock.disk === 0) return;
    clock.ms += clock.disk;
    if (clock.input) clock.blocks += 8;
  };
  const e: ReadEdges = {
    openSync: (f) => (calls.push('open:sync'), took('open'), nodeReadEdges.openSync(f)),
    readSync: (...a) => (calls.push('read:sync'), took('read'), nodeReadEdges.readSync(...a)),
    openAsync: (f) => (calls.push('open:pool'), nodeReadEdges.openAsync(f)),
    readAsync: (...a) => (calls.push('read:pool'), nodeReadEdges.readAsync(...a)),
    now: () => clock.ms,
    diskReads: () => clock.blocks,
  };
  return { e, calls };
}
