/**
 * The status document (DESIGN.md "Status"; served at /api/v1/status, committed to the status
 * branch). Its JSON Schema is schemas/status.schema.json.
 */

/** Blocked: a safety rule holds the change (mass-delete guard, a sync that would not fit, a halted rollout). */
export type MirrorState = 'Synced' | 'Progressing' | 'OutOfSync' | 'Failed' | 'Blocked' | 'Pending' | 'Suspended';

/** Worst first: a roll-up takes the worst state of its parts (gitops-engine's healthOrder). */
export const STATE_ORDER: readonly MirrorState[] = ['Failed', 'Blocked', 'OutOfSync', 'Progressing', 'Pending', 'Suspended', 'Synced'];

export interface LastSync {
  startedAt: string | null;
  finishedAt: string | null;
  result: 'completed' | 'failed' | 'canceled' | 'skipped' | null;
  downloadedBytes: number | null;
  downloadedFiles: number | null;
  task: string | null;
}

/**
 * A sync running now (the placement is Progressing). Totals come from the content-addressed diff
 * (the blobs this site lacks), so they hold on any Pulp; done files come from the task, done bytes
 * from the site's own byte report where it sends one, else in proportion to the files done.
 */
export interface SyncProgress {
  startedAt: string;
  /** The Pulp task, once known. */
  task: string | null;
  files: { done: number; total: number | null };
  bytes: { done: number; total: number | null };
  /** Bytes per second over the last samples; null until there are two. */
  bytesPerSecond: number | null;
  /** Seconds to go at that rate; null when unknown. */
  etaSeconds: number | null;
  /** When these figures were last taken from the task. */
  updatedAt: string;
}

export interface MirrorSiteStatus {
  site: string;
  state: MirrorState;
  /** Published repository version number. */
  version: number | null;
  treeDigest: string | null;
  files: number | null;
  bytes: number | null;
  lastSync: LastSync | null;
  /** Present while the placement is Progressing. */
  progress?: SyncProgress;
  message: string;
  /**
   * Seconds from the origin publishing the tree it publishes now to this site publishing it
   * (status/propagation.ts); null at the origin, while the site lacks that tree, or when it was
   * not measured (held already when the controller first saw it). Absent in older documents.
   */
  propagationSeconds?: number | null;
  /**
   * When the last successful sync finished: `lastSync` holds only the last sync, and the time since
   * the last success matters most once syncs fail. Kept across restarts. Absent in older documents.
   */
  lastSuccessAt?: string | null;
  /**
   * Set when the placement serves a pinned tree instead of the latest (spec.pin, spec.pins) or
   * holds what it serves: what, and why. Synced then means it serves that tree. Absent otherwise.
   */
  pin?: PlacementPinStatus;
}

/** A placement's pin as status shows it. */
export interface PlacementPinStatus {
  /** The pinned tree's digest; null for a hold, or a pin that could not be resolved. */
  digest: string | null;
  /** The site's repository version with that tree, when it retains one. */
  version: number | null;
  /** E.g. `pinned by spec.pins.leaf`. */
  why: string;
}

export interface MirrorStatus {
  name: string;
  origin: string;
  /** When its schedule next syncs it (the earliest of its sites); absent without a schedule. */
  nextSyncAt?: string;
  /** The Mirror spec's `metadata.labels` (absent when it has none), for filtering the page. */
  labels?: Record<string, string>;
  /** Digest of the tree the origin should publish (the source's). */
  treeDigest: string | null;
  sites: MirrorSiteStatus[];
  /** Where its progressive rollout stands (spec.rollout); absent without one. Restored at start. */
  rollout?: MirrorRollout;
  /**
   * What the last scan of its source tree left out or followed, one line each (names Pulp cannot
   * carry, symlinks, exclusions): files left out are not a failure, but the operator must see them.
   */
  sourceNotes?: string[];
}

/**
 * Where a mirror's rollout stands (reconcilers/rollout.ts). Done: every stage serves the tree.
 * WaitingApproval: the stage `stage` waits for its `approved` field in Git, its sites untouched.
 * Blocked: a probe failed; it stays halted until a newer tree, or a change to the stage's probes.
 */
export type RolloutState = 'Progressing' | 'Soaking' | 'WaitingApproval' | 'Blocked' | 'Done';

/** A mirror's rollout: shown in status and kept there, so that a restarted controller goes on from it. */
export interface MirrorRollout {
  /** The tree being rolled out: what the origin publishes. */
  digest: string;
  /** The tree the sites served before (the one a rollback returns to); null when none. */
  previous: string | null;
  /** 0-based index of the current stage; equals `stages` once Done. */
  stage: number;
  stages: number;
  /** The current stage's name; null once Done. */
  stageName: string | null;
  state: RolloutState;
  /** What it waits for, or why it is blocked; empty once Done. */
  reason: string;
  /** When the current stage's soak ends, while it soaks; else null. */
  soakEndsAt: string | null;
  /** When the rollout of `digest` began. */
  since: string;
  /** When the current stage began; null while it waits for approval, and once Done. */
  stageSince: string | null;
  /** Per site of a begun stage: when it was first seen serving `digest`. */
  published: Record<string, string>;
  /** Per site in a stage: the tree it served when the rollout began (what a rollback returns it to). */
  before: Record<string, string | null>;
  /** Set while Blocked: the failed stage's probes as they were (a change to them in Git tries again). */
  haltedProbes?: string;
}

/** status/ `storage`: bytes of the filesystem Pulp keeps artifacts on. */
export interface SiteStorage {
  total: number;
  used: number;
  free: number;
}

/** degraded: the site answers but cannot work (no online Pulp worker): its syncs are not started. */
export type SiteHealth = 'reachable' | 'degraded' | 'unreachable';

/** One orphan cleanup at a site (reconcilers/cleanup.ts). */
export interface LastCleanup {
  startedAt: string;
  finishedAt: string;
  result: 'completed' | 'failed';
  removedContent: number | null;
  removedArtifacts: number | null;
  /** status/ `storage.used` before minus after; null when Pulp gives no storage figure. */
  reclaimedBytes: number | null;
  task: string | null;
  /** Why it failed; empty when completed. */
  message: string;
}

export interface SiteStatus {
  name: string;
  url: string;
  /** The site this one pulls from (spec.upstream); null or absent = pulls from each mirror's origin. */
  upstream?: string | null;
  /** Kept for readers of the first status format: true unless `state` is unreachable. */
  reachable: boolean;
  /** Always written since health was added; absent in documents written before (read it with `siteHealthOf`). */
  state?: SiteHealth;
  /** Its status/ storage; null when Pulp gives no figure (object storage); absent when the site was not seen. */
  storage?: SiteStorage | null;
  /** True when free space is under the site's `storage.freeSpaceWarning` (default 10%); absent when unknown. */
  diskLow?: boolean;
  /** The controller's last orphan cleanup there; absent before the first. */
  lastCleanup?: LastCleanup;
  pulpVersion: string | null;
  lastSeen: string | null;
  message: string;
}

/** A site's health, also from a document written before `state` existed. */
export function siteHealthOf(s: Pick<SiteStatus, 'reachable' | 'state'>): SiteHealth {
  return s.state ?? (s.reachable ? 'reachable' : 'unreachable');
}

export interface SpecErrorStatus {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface ControllerStatus {
  version: string;
  startedAt: string;
  observedCommit: string | null;
  specCommit: string | null;
  specErrors: SpecErrorStatus[];
  /** `message`: why a finished pass failed (redacted), e.g. the spec repository could not be read; absent otherwise. */
  lastPass: { startedAt: string; finishedAt: string | null; result: 'succeeded' | 'failed' | 'running'; message?: string } | null;
}

export interface StatusDocument {
  controller: ControllerStatus;
  sites: SiteStatus[];
  mirrors: MirrorStatus[];
}
