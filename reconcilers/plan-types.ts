/**
 * The data that flows through a pass: the desired state (from specs), the observed state (from
 * Pulp and the sources) and the plan between them. All plain data, so that plan tests are tables.
 */
import type { ManifestEntry } from '../manifest/types.js';
import type {
  FileDistribution, FileDistributionCreate, FileRemote, FileRemoteCreate, FileRepository, FileRepositoryCreate, Href, Labels,
} from '../pulp/types.js';
import type { MirrorSchedule, MirrorSource, SiteSpec } from '../spec/types.js';
import type { SiteStorage } from '../core/status.js';
import type { UnpublishedLatest } from './served.js';
import type { ServeTarget } from './serve-target.js';
import type { RetainedTrees } from './retained.js';

/** The Pulp object kinds pulpdist creates, in the order they are created. */
export type ObjectKind = 'repository' | 'remote' | 'distribution';
/** What a plan entry acts on: an object, or the sync/publication of a mirror at a site. */
export type EntryKind = ObjectKind | 'sync' | 'publication';
export type PlanAction = 'create' | 'update' | 'delete' | 'sync' | 'publish' | 'noop';
/** Why a sync is planned (DESIGN.md "A sync at S is triggered when…"). */
export type SyncReason = 'never-synced' | 'upstream-newer' | 'source-changed' | 'schedule-due';

/** A published (or source) tree, summarised; `entries` is null when only the summary is known (cache hit). */
export interface TreeSummary {
  /** DESIGN.md tree digest: sha256 of the canonical manifest. */
  digest: string;
  files: number;
  bytes: number;
  entries: readonly ManifestEntry[] | null;
  /**
   * What the scan of a tree on disk left out or followed, one line each, for plan warnings:
   * names Pulp cannot carry, symlinks not followed, excluded paths. Absent when there is nothing to say.
   */
  notes?: readonly string[];
}

export interface DesiredRepository {
  name: string;
  pulp_labels: Labels;
  retain_repo_versions: number;
  autopublish: true;
}

export interface DesiredRemote {
  name: string;
  url: string;
  pulp_labels: Labels;
  policy: 'immediate';
  download_concurrency: number;
  /** bandwidth / concurrentSyncs of the target site; null = no cap. Sent only to embedded sites. */
  pulpdist_bandwidth_limit: number | null;
  /** The site's shaper (`limits.shaper`), through which the remote downloads; null = direct. */
  proxy_url: string | null;
}

export interface DesiredDistribution {
  name: string;
  base_path: string;
  pulp_labels: Labels;
}

/** One mirror at one site: the three objects and where the site pulls the tree from. */
export interface DesiredPlacement {
  mirror: string;
  site: string;
  /** Hops from the origin along the pull path (origin = 0). */
  depth: number;
  /** The site whose published tree this one pulls; null at the origin (it pulls the source). */
  feeder: string | null;
  /** What tree it serves (serve-target.ts): the latest, a pinned tree, or what it serves now. */
  serve: ServeTarget;
  repository: DesiredRepository;
  remote: DesiredRemote;
  distribution: DesiredDistribution;
}

export interface DesiredMirror {
  name: string;
  origin: string;
  basePath: string;
  source: MirrorSource;
  schedule: MirrorSchedule | undefined;
  suspend: boolean;
  /** One per site of the mirror, origin first, then by depth and name. */
  placements: DesiredPlacement[];
}

export interface DesiredState {
  mirrors: ReadonlyMap<string, DesiredMirror>;
  sites: ReadonlyMap<string, SiteSpec>;
  /** This controller's id (`--controller-id`): its objects carry it; absent = every managed object is its own. */
  controller?: string;
}

/** What one site showed: only objects labelled `managed_by: pulpdist`, keyed by name. */
export interface ObservedSite {
  name: string;
  reachable: boolean;
  /** Why the site could not be observed (redacted), when unreachable. */
  error: string | null;
  pulpVersion: string | null;
  /** True when the site is a `pulpdist site` (status has a `pulpdist-site` component). */
  embedded: boolean;
  repositories: ReadonlyMap<string, FileRepository>;
  remotes: ReadonlyMap<string, FileRemote>;
  distributions: ReadonlyMap<string, FileDistribution>;
  /** Published tree per managed distribution name; null = the distribution serves nothing. */
  published: ReadonlyMap<string, TreeSummary | null>;
  /**
   * Managed distributions whose repository's latest version has no publication (deleted by hand):
   * what they serve instead. A sync does not heal that, a publish does. Absent = none known.
   */
  unpublished?: ReadonlyMap<string, UnpublishedLatest>;
  /** When the site answered (ISO time), for status. */
  seenAt: string | null;
  /** Online workers its status/ listed (0 = degraded: site-health.ts); absent when not observed. */
  onlineWorkers?: number;
  /** Its status/ storage; null = no figure (object storage); absent when not observed. */
  storage?: SiteStorage | null;
  /**
   * True when the site could not be observed for a cause an operator must fix at pulpdist's end:
   * it answered 401/403 (wrong or missing credentials) or its client cannot be set up (password
   * variable unset, bad URL). Its placements are then Failed; a network that is down leaves them
   * Pending (the site's own state says unreachable).
   */
  refused?: boolean;
  /**
   * Managed objects of other controllers (another `pulpdist_controller` label), by name (any
   * kind): the owner's id. Never planned, updated or pruned; a name this spec set wants is a conflict.
   */
  foreign?: ReadonlyMap<string, string>;
}

/**
 * A mirror's source as read this pass, or why it could not be read. `waiting`: the tree is being
 * written (changed during its scan, not settled, an update-in-progress marker): not an error,
 * the next pass reads it again.
 */
export type SourceTree = TreeSummary | { error: string; waiting?: true };

export interface ObservedState {
  sites: ReadonlyMap<string, ObservedSite>;
  /** Per mirror name; absent = not read (suspended mirrors are not read). */
  sources: ReadonlyMap<string, SourceTree>;
  /**
   * The retained versions of the placements whose target is a tree (retained.ts), by
   * `syncKey(mirror, site)`; read for those only. Absent = none read.
   */
  retained?: ReadonlyMap<string, RetainedTrees>;
}

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface Transfer {
  files: number;
  bytes: number;
}

/** What apply POSTs to create each kind (pulp/types.ts), so that the per-kind table needs no cast. */
export interface CreateBodies {
  repository: FileRepositoryCreate;
  remote: FileRemoteCreate;
  /** `repository` is the href, or `pendingRepositoryRef` when the repository is created in the same pass. */
  distribution: FileDistributionCreate;
}

/** Fields of every plan entry. The optional ones are required by the actions that carry them. */
interface EntryBase {
  site: string;
  name: string;
  mirror: string;
  /** Human reason, e.g. `upstream hub publishes a newer tree`. */
  reason: string;
  /** Upstream depth, the first sort key. */
  depth: number;
  /** Creates and updates: the fields that differ. */
  changes?: FieldChange[];
  /** Syncs: files and bytes the target does not already hold. */
  estimate?: Transfer;
  /** Deletes: what stops being published at that site. */
  stops?: Transfer;
  /** Syncs: the machine reason. */
  syncReason?: SyncReason;
}

/**
 * Create a missing object of kind K. `op` (here and below) carries what apply needs and is not
 * part of the JSON document.
 */
export interface CreateEntryOf<K extends ObjectKind> extends EntryBase {
  kind: K;
  action: 'create';
  changes: FieldChange[];
  op: { body: CreateBodies[K] };
}

/** Update the differing fields of an existing object of kind K: `body` is the PATCH. */
export interface UpdateEntryOf<K extends ObjectKind> extends EntryBase {
  kind: K;
  action: 'update';
  changes: FieldChange[];
  op: { href: Href; body: Partial<CreateBodies[K]> };
}

type PerKind<T extends { [K in ObjectKind]: unknown }> = T[ObjectKind];
export type CreateEntry = PerKind<{ [K in ObjectKind]: CreateEntryOf<K> }>;
export type UpdateEntry = PerKind<{ [K in ObjectKind]: UpdateEntryOf<K> }>;

/** Delete a managed object no placement wants. */
export interface DeleteEntry extends EntryBase {
  kind: ObjectKind;
  action: 'delete';
  stops: Transfer;
  op: { href: Href };
}

/** Sync a mirror's repository at a site from its remote (which may be created in the same pass). */
export interface SyncEntry extends EntryBase {
  kind: 'sync';
  action: 'sync';
  syncReason: SyncReason;
  estimate: Transfer;
  op: {
    /** The repository, remote and distribution when they exist already (else apply uses what it creates). */
    repository: Href | null;
    remote: Href | null;
    distribution: Href | null;
    basePath: string;
    /** The site whose sync must finish first (null at the origin). */
    feeder: string | null;
    /** The digest the site should publish afterwards. */
    wantDigest: string;
  };
}

/** Publish the latest version of a repository that has versions but serves nothing. */
export interface PublishEntry extends EntryBase {
  kind: 'publication';
  action: 'publish';
  op: { repository: Href; distribution: Href; basePath: string };
}

/** Nothing can happen yet for this mirror at this site; `reason` says why (an unreachable upstream…). */
export interface NoopEntry extends EntryBase {
  kind: 'sync';
  action: 'noop';
  /** Held by a safety rule (a sync that would not fit): the placement is Blocked, not Pending. */
  blocked?: true;
  /** The placement cannot be planned as the spec asks (a pin to a tree nobody serves): Failed. */
  error?: true;
}

/** One step of a plan, tagged by `action`. */
export type PlanEntry = CreateEntry | UpdateEntry | DeleteEntry | SyncEntry | PublishEntry | NoopEntry;
/** The entries that write an object's fields (apply-objects.ts). */
export type ObjectEntry = CreateEntry | UpdateEntry;
/** The entries that move a tree (apply-syncs.ts). */
export type TreeEntry = SyncEntry | PublishEntry | NoopEntry;

export interface PlanSite {
  name: string;
  reachable: boolean;
  embedded: boolean;
  pulpVersion: string | null;
  message: string;
  /** Observed sites: reachable or degraded (site-health.ts). */
  health?: 'reachable' | 'degraded';
  /** Observed sites: status/ storage, null when Pulp gives no figure. */
  storage?: SiteStorage | null;
  /** Observed sites: bytes the syncs this plan starts there add (their estimates plus a block per file). */
  adds?: number;
}

export interface PlanSummary {
  create: number;
  update: number;
  delete: number;
  sync: number;
  publish: number;
  /** Sum of the sync estimates. */
  files: number;
  bytes: number;
}

/** A name this spec set wants at a site, held by another controller's object: left alone. */
export interface PlanConflict {
  site: string;
  mirror: string;
  /** The Pulp object name, e.g. `pulpdist.fedora`. */
  name: string;
  /** The other controller's id (its `pulpdist_controller` label). */
  owner: string;
}

export interface Plan {
  entries: PlanEntry[];
  sites: PlanSite[];
  warnings: string[];
  /** Placements not planned because another controller owns their objects (also one warning each). */
  conflicts: PlanConflict[];
  /** The controller id the plan was made for (desired.controller), shown by `plan`. */
  controller?: string;
  summary: PlanSummary;
  /** Set when the mass-delete guard refused the deletes: they are listed but apply will not run them. */
  blockedDeletes: string | null;
  /** Placements the spec asks the impossible of (a pin to a tree nobody retains); each also in `warnings`. */
  errors?: PlacementError[];
  /** Placements serving a pinned or held tree, by `syncKey(mirror, site)` (status shows them). */
  pins?: ReadonlyMap<string, PlacementPin>;
}

/** A placement the spec asks the impossible of, and why (e.g. a pin to a pruned tree). */
export interface PlacementError {
  site: string;
  mirror: string;
  message: string;
}

/** A placement that serves a pinned tree (or holds what it serves), as status shows it. */
export interface PlacementPin {
  /** The full digest, or null for a hold or a pin not resolved. */
  digest: string | null;
  /** The site's version with that tree, when it retains one. */
  version: number | null;
  why: string;
}

export interface PlanOptions {
  /** The clock, as an input: plan never reads one. */
  now: Date;
  /** Last sync time per `syncKey(mirror, site)`, held by the caller. */
  lastSyncAt?: ReadonlyMap<string, Date>;
  /** @default false */
  allowMassDelete?: boolean;
  /**
   * Who allowed the mass delete, for the plan's warning (e.g. `the trailer Pulpdist-Allow-Mass-Delete
   * of commit 1a2b3c`); `--allow-mass-delete` when absent.
   */
  massDeleteApprovedBy?: string;
  /** Plan only these sites. @default all */
  sites?: readonly string[];
}

/** `sync`, `publish` or `create remote`: what an entry does, in a few words (never "sync sync"). */
export function entryDoing(e: { kind: string; action: string }): string {
  return e.kind === 'sync' || e.kind === 'publication' ? e.action : `${e.action} ${e.kind}`;
}
