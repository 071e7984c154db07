/**
 * The contract between reconcilers/ and the controller: one reconcile pass over a valid SpecSet.
 * `reconcilePass` (reconcilers/pass.ts) observes every site, plans, applies and returns the
 * status of every mirror × site; `pulpdist apply`, `pulpdist run` and the benchmarks all call it.
 */
import type { Logger } from '../core/logger.js';
import type { MirrorStatus, SiteStatus } from '../core/status.js';
import type { PulpClient } from '../pulp/types.js';
import type { SpecSet } from '../spec/types.js';
import type { PassMemory } from './pass.js';
import type { Plan } from './plan-types.js';
import type { SourceReader } from './source.js';

export interface PassDeps {
  /** One client per site name (pulp/client.ts `createPulpClient`). */
  clients: ReadonlyMap<string, PulpClient>;
  log: Logger;
  now: () => Date;
  /** Where manifest/ keeps its scan caches for `source.path` mirrors. */
  manifestCacheDir?: string;
  /** Progress of long work (syncs with bytes moved), for live views. */
  onEvent?: (event: PassEvent) => void;
  /**
   * What to keep between passes (published-manifest cache, last sync times for schedules):
   * `createPassMemory()` once, then the same object every pass. @default one shared per process
   */
  memory?: PassMemory;
  /** How sources are read (tests, or a controller with its own). @default createSourceReader() */
  sources?: SourceReader;
}

export interface PassOptions {
  signal: AbortSignal;
  /** Allow a plan that deletes more than half of the managed mirrors. @default false */
  allowMassDelete?: boolean;
  /** Only these sites (plan --site). @default all */
  sites?: string[];
  /** Compute the plan only; change nothing. @default false */
  dryRun?: boolean;
  /** Syncs running at once over all sites (each site also keeps to its limits.concurrentSyncs). @default 16 */
  maxConcurrentSyncs?: number;
  /** Creates, updates and deletes in flight per site. @default 8 */
  apiConcurrency?: number;
}

export type PassEvent =
  | { type: 'action-start'; site: string; mirror: string; kind: string; action: string; reason?: string }
  | { type: 'action-end'; site: string; mirror: string; kind: string; action: string; result: 'succeeded' | 'failed' | 'skipped'; message?: string; durationMs: number }
  | { type: 'sync-progress'; site: string; mirror: string; doneFiles: number; totalFiles: number | null; doneBytes: number };

export interface PassResult {
  /** True when every site holds the desired tree of every mirror. */
  converged: boolean;
  /** Number of changes made (creates, updates, deletes, syncs). */
  changes: number;
  mirrors: MirrorStatus[];
  sites: SiteStatus[];
  /** The earliest time a mirror's schedule comes due, so the loop can wake for it. */
  nextDueAt: Date | null;
  /** Human summary lines of what failed and why. */
  failures: string[];
  /** The plan this pass computed (and, unless dryRun, carried out). */
  plan?: Plan;
}
