/**
 * The contract between reconcilers/ and its callers: the types of one reconcile pass over a valid
 * SpecSet. `reconcilePass` (reconcilers/pass.ts) observes every site, plans, applies and returns the
 * status of every mirror × site; `pulpdist apply`, `pulpdist run` and the benchmarks all call it.
 * A leaf: it imports types only, and nothing of reconcilers/ but the plan types and the cache.
 */
import type { Logger } from '../core/logger.js';
import type { LastSync, MirrorRollout, MirrorStatus, SiteStatus } from '../core/status.js';
import type { PulpClient } from '../pulp/types.js';
import type { MirrorSource } from '../spec/types.js';
import type { PassFailure } from './failures.js';
import type { DesiredState, Plan, PlanEntry, SourceTree, Transfer, TreeSummary } from './plan-types.js';
import type { PublishedCache } from './published-cache.js';
import type { ServeOverrides } from './serve-target.js';
import type { VersionTree } from './history.js';
import type { ProbeRunner } from './rollout-pass.js';

/**
 * How a pass reads mirror sources: sources/reader.ts `createSourceReader` is the real one; tests
 * may give their own. It may keep state between passes (ETags, a hash pool).
 */
export interface SourceReader {
  /** The tree a source holds now. Throws when it cannot be read. */
  read(source: MirrorSource, opts: { signal: AbortSignal }): Promise<TreeSummary>;
  /**
   * Make the source readable by the origin's remote: for a tree on disk, write its PULP_MANIFEST
   * at the tree's root (atomically), or for a read-only tree into mirror's view under `viewsDir`.
   * Nothing to do for a published manifest.
   */
  prepare(source: MirrorSource, tree: TreeSummary, opts: { signal: AbortSignal; mirror: string }): Promise<void>;
  /**
   * Where the views of read-only trees live (`STATE/sources`, sources/view.ts): the origin's remote
   * of such a mirror reads `VIEWS/MIRROR/PULP_MANIFEST`. Absent: the reader has no state directory.
   */
  readonly viewsDir?: string;
  /** Let go of what the reader holds between passes (watches on trees). */
  close?(): void;
}

/**
 * What a caller keeps between passes (reconcilers/pass.ts `createPassMemory`): the
 * published-manifest cache and the last sync of each (mirror, site).
 */
export interface PassMemory {
  published: PublishedCache;
  /** When each (mirror, site) last synced, or first came under a schedule; by `syncKey`. */
  lastSyncAt: Map<string, Date>;
  lastSync: Map<string, LastSync>;
  lastSeen: Map<string, string>;
  /** Durations of the last pass's phases (ms), logged at debug as `pass phases`. */
  phases: Record<string, number>;
  /**
   * The trees of retained versions at pinned placements (retained.ts), by `syncKey`, then version
   * href: a version never changes, so it is read once. Absent in hand-built memories.
   */
  versionTrees?: Map<string, Map<string, VersionTree>>;
  /** Each mirror's rollout record (reconcilers/rollout.ts), by mirror name; seeded from the status branch at start. */
  rollouts: Map<string, MirrorRollout>;
}

export interface PassDeps {
  /** One client per site name (pulp/client.ts `createPulpClient`). */
  clients: ReadonlyMap<string, PulpClient>;
  log: Logger;
  now: () => Date;
  /**
   * What to keep between passes: `createPassMemory()` once per caller, then the same object every
   * pass (a fresh one each pass re-reads every published manifest and forgets the schedules).
   */
  memory: PassMemory;
  /** How sources are read: one reader per caller, the same every pass (sources/reader.ts). */
  sources: SourceReader;
  /** Progress of long work (syncs with bytes moved), for live views. */
  onEvent?: (event: PassEvent) => void;
  /** Runs rollout probes (pulp/content-probe.ts `contentProber`); absent = a stage with probes waits. */
  probe?: ProbeRunner;
}

export interface PassOptions {
  signal: AbortSignal;
  /** Allow a plan that deletes more than half of the managed mirrors. @default false */
  allowMassDelete?: boolean;
  /** Who allowed it (the plan's warning names it), e.g. the trailer of a commit. @default '--allow-mass-delete' */
  massDeleteApprovedBy?: string;
  /**
   * Asked only when the mass-delete guard holds deletes (so that a pass without a mass delete
   * never pays for it, e.g. loading a Git library): who approves them, for the plan's warning, or
   * null when nobody does.
   */
  approveMassDelete?: () => Promise<string | null>;
  /** Only these sites (plan --site). @default all */
  sites?: string[];
  /**
   * This controller's id (`--controller-id`): label of every object it makes; it plans on no other
   * controller's objects. @default none (every managed object is this controller's, as before ids)
   */
  controllerId?: string;
  /** Compute the plan only; change nothing. @default false */
  dryRun?: boolean;
  /**
   * Per-placement serve targets the caller imposes (serve-target.ts; e.g. a rollout's holds), by
   * `syncKey(mirror, site)`; spec pins outrank them. @default none: every placement serves the latest
   */
  serve?: ServeOverrides;
  /** Syncs running at once over all sites (each site also keeps to its limits.concurrentSyncs). @default 16 */
  maxConcurrentSyncs?: number;
  /** Creates, updates and deletes in flight per site. @default 8 */
  apiConcurrency?: number;
}

/**
 * What a pass tells live views as it goes. A sync's `estimate` (action-start) is what the site
 * lacks by content address, its `treeDigest` the tree it is to publish; `sync-progress` resolves the task's figures against it (sync-task.ts
 * `syncFigures`), so that bytes are known on a Pulp that reports only files.
 */
export type PassEvent =
  | { type: 'action-start'; site: string; mirror: string; kind: string; action: string; reason?: string; estimate?: Transfer; treeDigest?: string }
  | { type: 'action-end'; site: string; mirror: string; kind: string; action: string; result: EntryOutcome; message?: string; durationMs: number }
  | ({ type: 'sync-progress'; site: string; mirror: string; task: string } & SyncFigures);

/** Files and bytes of one sync, done and total (null: unknown). */
export interface SyncFigures {
  doneFiles: number;
  totalFiles: number | null;
  doneBytes: number;
  totalBytes: number | null;
}

/** What became of one plan entry (Flux's changeset words, reduced to three). */
export type EntryOutcome = 'succeeded' | 'failed' | 'skipped';

export interface EntryResult {
  entry: PlanEntry;
  result: EntryOutcome;
  message?: string;
  durationMs: number;
}

export interface PassResult {
  /** True when every site holds the desired tree of every mirror. */
  converged: boolean;
  /** Number of changes made (creates, updates, deletes, syncs). */
  changes: number;
  mirrors: MirrorStatus[];
  sites: SiteStatus[];
  /** The earliest time a mirror's schedule comes due, so the loop can wake for it. */
  nextDueAt: Date | null;
  /**
   * What kept the pass from converging, typed (reconcilers/failures.ts): failed or skipped entries,
   * unreachable sites, unreadable sources. Each one's `toString()` is its human line.
   */
  failures: PassFailure[];
  /** The plan this pass computed (and, unless dryRun, carried out). */
  plan?: Plan;
}

/** What apply is given: the clients it writes through and the edges it reports to. */
export interface ApplyDeps {
  clients: ReadonlyMap<string, PulpClient>;
  log: Logger;
  now: () => Date;
  sources: SourceReader;
  onEvent?: (event: PassEvent) => void;
}

export interface ApplyOptions {
  signal: AbortSignal;
  desired: DesiredState;
  /** The source trees the plan was computed from (their manifests are what gets written). */
  sourceTrees: ReadonlyMap<string, SourceTree>;
  /** Syncs running at once over all sites. @default 16 */
  maxConcurrentSyncs?: number;
  /** Creates, updates and deletes in flight per site. @default 8 */
  apiConcurrency?: number;
}

export interface ApplyResult {
  /** One per plan entry apply acted on (noops aside), in the order they finished. */
  results: EntryResult[];
  /** Changes made: succeeded creates, updates, deletes, syncs and publishes. */
  changes: number;
  /** The sync record of each (mirror, site) synced, by `syncKey`. */
  syncs: Map<string, LastSync>;
}
